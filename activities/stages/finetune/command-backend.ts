import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_PLACEHOLDERS } from '../../../common/config.js';
import { FineTuneFailed } from '../../../common/errors.js';
import { PROJECT_ROOT } from '../../../common/env.js';
import { writeFileAtomic } from '../../kit/files.js';
import type { FineTuneResult, Hardware } from '../../../common/contracts/index.js';
import { trainerHardware } from '../eval/usage.js';
import type { FineTuneBackend, FineTuneJob } from './backend.js';
import { studentModelPath, trainerFailure } from './local-backend.js';
import { runProcess } from './subprocess.js';


/** The argv of one job: each `{name}` replaced by its value (whole arguments or parts of one). */
export function expandCommand(template: string[], job: FineTuneJob): string[] {
  const h = job.hyper;
  const values: Record<(typeof COMMAND_PLACEHOLDERS)[number], string> = {
    data: job.dataPath,
    out: join(job.outDir, 'output'),
    baseModel: studentModelPath(job.baseModel),
    epochs: String(h.epochs),
    learningRate: String(h.learningRate),
    loraR: String(h.loraR),
    batchSize: String(h.batchSize),
    maxLength: String(h.maxLength),
    seed: String(h.seed),
  };
  return template.map((arg) =>
    arg.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? values[name as keyof typeof values] : whole)),
  );
}

/**
 * A user's trainer command (Axolotl, LLaMA-Factory, a script). The contract is its output
 * directory: exit 0 leaving a PEFT adapter (adapter_config.json) or a full model (config.json) in
 * {out} or {out}/adapter, and optionally {out}/summary.json with train_tokens, steps, first_loss,
 * last_loss and hardware ({kind, name, devices, visible}, as trainer/nanoflux_trainer/hardware.py
 * writes it). After a crash the command is run again with the same {out}: resuming from its own
 * checkpoints there is the command's business (most trainers have a resume flag for this).
 */
export function commandFineTuneBackend(template: string[]): FineTuneBackend {
  return {
    name: 'command',
    async train(job, ctx) {
      const doneFile = join(job.outDir, 'nanoflux-result.json');
      if (existsSync(doneFile)) return JSON.parse(readFileSync(doneFile, 'utf8')) as FineTuneResult;
      const argv = expandCommand(template, job);
      const started = Date.now();
      const outcome = await runProcess(argv, {
        cwd: PROJECT_ROOT,
        env: process.env,
        signal: ctx.signal,
        onEvent: (e) => ctx.heartbeat({ message: JSON.stringify(e).slice(0, 200) }),
        onLine: (line) => ctx.heartbeat({ message: line.slice(0, 200) }),
      });
      if (outcome.code !== 0) throw trainerFailure(`trainer command ${argv[0]}`, outcome, ctx.signal.aborted);
      const out = join(job.outDir, 'output');
      const found = locateModel(out);
      if (!found) {
        throw new FineTuneFailed(`trainer command exited 0 but left no adapter_config.json or config.json in ${out} or ${out}/adapter`);
      }
      const s = readSummary(join(out, 'summary.json'));
      const result: FineTuneResult = {
        backend: 'command',
        ...found,
        trainTokens: s.train_tokens ?? null,
        wallSeconds: (Date.now() - started) / 1000,
        steps: s.steps ?? null,
        firstLoss: s.first_loss ?? null,
        lastLoss: s.last_loss ?? null,
        // Device-hours in the report's compute table come from it; absent, they read "not measured".
        ...(s.hardware ? { hardware: s.hardware } : {}),
        ...(existsSync(join(out, 'metrics.jsonl')) ? { lossCurve: join(out, 'metrics.jsonl') } : {}),
        resumedFrom: null,
      };
      writeFileAtomic(doneFile, JSON.stringify(result, null, 2));
      return result;
    },
  };
}

function locateModel(out: string): Pick<FineTuneResult, 'kind' | 'model'> | undefined {
  for (const dir of [out, join(out, 'adapter')]) {
    if (existsSync(join(dir, 'adapter_config.json'))) return { kind: 'adapter', model: dir };
    if (existsSync(join(dir, 'config.json'))) return { kind: 'model-dir', model: dir };
  }
  return undefined;
}

function readSummary(file: string): { train_tokens?: number; steps?: number; first_loss?: number; last_loss?: number; hardware?: Hardware } {
  if (!existsSync(file)) return {};
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const num = (k: string) => (typeof v[k] === 'number' ? (v[k] as number) : undefined);
    return { train_tokens: num('train_tokens'), steps: num('steps'), first_loss: num('first_loss'), last_loss: num('last_loss'), hardware: trainerHardware(v.hardware) };
  } catch {
    return {}; // optional file: an unreadable one leaves the figures unknown, it does not fail a finished training
  }
}
