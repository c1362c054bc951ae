import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FineTuneFailed, MissingResource } from '../../../common/errors.js';
import { projectPath, readEnv, resolveLocalModel } from '../../../common/env.js';
import type { FineTuneResult } from '../../../common/contracts/index.js';
import type { FineTuneBackend, FineTuneJob } from './backend.js';
import { type ProcessOutcome, runProcess, trainerEnv, trainerPython } from './subprocess.js';
import { trainerHardware } from '../eval/usage.js';

/** The student as the trainer loads it: the embedded alias, else a path from the project root. */
export const studentModelPath = (baseModel: string): string => (baseModel === 'smollm2-135m' ? resolveLocalModel(baseModel) : projectPath(baseModel));

interface TrainerSummary {
  base_model: string;
  epochs: number;
  steps: number;
  train_tokens: number;
  train_s: number;
  first_loss: number | null;
  last_loss: number | null;
  lora_r: number;
  lr: number;
  /** Absent from summaries written before the trainer recorded it. */
  seed?: number;
  resumed_from: string | null;
  /** on/off as passed, null when not (the template's default); absent from older summaries. */
  thinking?: boolean | null;
  /** Tokens matched to under --match-tokens-of (the reference file's count), else null; absent from older summaries. */
  token_budget?: number | null;
  /** sha256 of the file matched to: another NanoFlux set gives another budget. */
  match_tokens_sha256?: string | null;
  /** What it ran on (hardware.py); absent from older summaries. */
  hardware?: unknown;
}

/**
 * The project's Python LoRA trainer (trainer/), one process per job. It is always started with
 * `--resume`: after a worker crash the retry continues from the newest checkpoint in the job's
 * directory (the trainer itself waits for an orphaned predecessor to checkpoint and exit). A
 * finished job (summary.json present, same settings) is returned as is, never trained twice.
 */
export function localFineTuneBackend(opts: { env?: NodeJS.ProcessEnv } = {}): FineTuneBackend {
  const env = opts.env ?? process.env;
  return {
    name: 'local',
    async train(job, ctx) {
      const model = studentModelPath(job.baseModel);
      const summaryFile = join(job.outDir, 'summary.json');
      const dataFile = join(job.outDir, 'data.sha256');
      const dataHash = sha256(readFileSync(job.dataPath));
      const sameData = existsSync(dataFile) && readFileSync(dataFile, 'utf8') === dataHash;
      if (existsSync(summaryFile) && sameData) {
        const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as TrainerSummary;
        if (sameSettings(s, job, model)) return toResult(job, s, s.resumed_from);
      }
      if (existsSync(job.outDir) && !(sameData && !existsSync(summaryFile))) {
        // Trained on other data or with other settings (a re-run under an edited config): start
        // clean, since those checkpoints must not be resumed. An unfinished run on the same data is kept.
        rmSync(job.outDir, { recursive: true, force: true });
      }
      mkdirSync(job.outDir, { recursive: true });
      writeFileSync(dataFile, dataHash);
      const h = job.hyper;
      const argv = [
        trainerPython(readEnv(env)), '-m', 'nanoflux_trainer', 'train',
        '--model', model, '--data', job.dataPath, '--out', job.outDir,
        '--epochs', String(h.epochs), '--lr', String(h.learningRate), '--lora-r', String(h.loraR),
        '--batch-size', String(h.batchSize), '--max-length', String(h.maxLength), '--seed', String(h.seed),
        '--save-every', String(h.saveEvery), '--resume',
        ...(h.maxSteps ? ['--max-steps', String(h.maxSteps)] : []),
        ...(h.thinking === undefined ? [] : ['--thinking', h.thinking ? 'on' : 'off']),
        ...(h.matchTokensOf ? ['--match-tokens-of', h.matchTokensOf] : []),
      ];
      let resumedFrom: string | null = null;
      const outcome = await runProcess(argv, {
        env: trainerEnv(env),
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.event === 'step') {
            ctx.heartbeat({ message: `step ${e.step}/${e.total_steps} loss ${e.loss}`, step: e.step as number, totalSteps: e.total_steps as number, loss: e.loss as number });
          } else if (e.event === 'resumed') {
            resumedFrom = String(e.checkpoint);
            ctx.heartbeat({ message: `resumed from ${e.checkpoint}`, step: e.step as number });
          } else if (e.event === 'loaded' || e.event === 'waiting') {
            ctx.heartbeat({ message: e.event === 'loaded' ? `loaded ${job.baseModel} on ${e.device}` : String(e.reason) });
          }
        },
      });
      if (outcome.code === 0 && existsSync(summaryFile)) {
        return toResult(job, JSON.parse(readFileSync(summaryFile, 'utf8')) as TrainerSummary, resumedFrom);
      }
      throw trainerFailure('trainer', outcome, ctx.signal.aborted);
    },
  };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A seeded ablation run differs from another only in its seed: a summary of another seed is not this job's result. */
function sameSettings(s: TrainerSummary, job: FineTuneJob, model: string): boolean {
  const seed = s.seed === undefined || s.seed === job.hyper.seed;
  // A summary from before thinking and token matching were recorded was made with neither.
  const thinking = (s.thinking ?? null) === (job.hyper.thinking ?? null);
  const matched = (s.match_tokens_sha256 ?? null) === (job.hyper.matchTokensOf ? sha256(readFileSync(job.hyper.matchTokensOf)) : null);
  return s.base_model === model && s.epochs === job.hyper.epochs && s.lora_r === job.hyper.loraR && s.lr === job.hyper.learningRate && seed && thinking && matched;
}

function toResult(job: FineTuneJob, s: TrainerSummary, resumedFrom: string | null): FineTuneResult {
  const hardware = trainerHardware(s.hardware);
  return {
    backend: 'local',
    kind: 'adapter',
    model: join(job.outDir, 'adapter'),
    trainTokens: s.train_tokens,
    wallSeconds: s.train_s,
    steps: s.steps,
    firstLoss: s.first_loss,
    lastLoss: s.last_loss,
    lossCurve: join(job.outDir, 'metrics.jsonl'),
    resumedFrom,
    budget: s.token_budget == null ? { by: 'epochs', epochs: s.epochs } : { by: 'tokens', tokens: s.token_budget, of: 'tuned' },
    ...(hardware ? { hardware } : {}),
  };
}

/** The last line a process wrote to stderr: a Python SystemExit message or the exception line of a traceback. */
export function lastErrorLine(stderr: string): string {
  return stderr.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean).at(-1) ?? '(no output)';
}

/**
 * A process killed by a signal (the worker's shutdown, the OOM killer) may succeed when retried;
 * one that exited with an error code failed on its own terms (bad data, a refused resume) and would
 * fail again, so it ends the job for good.
 */
export function trainerFailure(what: string, o: ProcessOutcome, cancelled: boolean): Error {
  if (/ModuleNotFoundError: No module named '(torch|transformers|peft|gguf)/.test(o.stderrTail)) {
    return new MissingResource(`${what}: the trainer's Python packages are not installed; run \`node scripts/bootstrap.mjs --trainer\` (${lastErrorLine(o.stderrTail)})`);
  }
  if (cancelled || o.signal || o.code === 143 || o.code === 137) {
    return new Error(`${what} stopped (${o.signal ?? `exit ${o.code}`}${cancelled ? ', cancelled' : ''}); a retry resumes it`);
  }
  return new FineTuneFailed(`${what} exited with code ${o.code}: ${lastErrorLine(o.stderrTail)}`);
}
