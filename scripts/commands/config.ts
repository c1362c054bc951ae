import type { Command } from 'commander';
import { parseRunConfig } from '../../common/config.js';
import { readEnv } from '../../common/env.js';
import { connectClient, describeRun, startRun, uiLinks, UserError, withClient } from '../lib/client.js';
import { readConfigFile, validateRunConfig } from '../lib/config-file.js';
import { hinted, RunNotFound } from '../lib/errors.js';
import { exitWith, out, positiveNumber } from '../lib/output.js';
import { problemLines } from '../../workflows/logic/preflight.js';

/** `validate`, `run` and `resume-from`: the commands that take a run config file. */
export function registerConfigCommands(program: Command): void {
  program
    .command('validate')
    .summary('check a run config (--check: and what it needs, on the workers)')
    .description("check a run config (.json, .yaml, .yml); lists every problem by field path. With --check, also runs the run's preflight on the workers (needs a server and a worker): each model's key variable, one minimal request per endpoint (structured output; tools for the Judge), one embedding, the benchmark files, the sandbox")
    .option('--config <file>', 'the run config')
    .option('--check', "also run the run's preflight on the workers")
    .option('--timeout <seconds>', 'with --check: how long to wait for the workers (a local model loads, a slow server answers)', positiveNumber, 300)
    .action(async (opts: { config: string; check?: boolean; timeout: number }, cmd: Command) => {
      const o = out(cmd);
      const raw = readConfigFile(opts.config);
      const parsed = parseRunConfig(raw);
      if (!parsed.ok && o.json) {
        o.print('', { valid: false, problems: parsed.problems });
        exitWith(2);
        return; // the JSON document is the whole answer: no text list on stderr as well
      }
      const c = validateRunConfig(raw, opts.config);
      const valid = `${opts.config}: valid (run ${c.runId}, ${c.domains.length} domain(s))`;
      if (!opts.check) return o.print(valid, { valid: true, runId: c.runId });
      // Loaded on use: the proto package costs every other command's start-up (bench/README.md, CLI).
      const { preflightOnWorkers } = await import('../lib/preflight.js');
      const problems = await withClient((client) => preflightOnWorkers(client, raw, c.runId, opts.timeout * 1000));
      if (problems.length > 0) exitWith(1);
      const human = problems.length === 0 ? `${valid}\npreflight passed on the workers` : `${valid}\npreflight found ${problems.length} problem(s) on the workers:\n${problemLines(problems).map((l) => `  - ${l}`).join('\n')}`;
      o.print(human, { valid: true, runId: c.runId, preflight: { ok: problems.length === 0, problems } });
    });

  program
    .command('run')
    .summary('start a run from a config file')
    .description('start a run from a config file; prints its run id and web-UI link (needs a server and a worker)')
    .option('--config <file>', 'the run config (.json, .yaml, .yml)')
    .action(async (opts: { config: string }, cmd: Command) => {
      const raw = readConfigFile(opts.config);
      await start(cmd, raw, opts.config);
    });

  program
    .command('resume-from')
    .summary("start a run that reuses an earlier run's results")
    .description("start a new run that reuses an earlier run's stored examples and finished stages")
    .argument('<earlier>', 'the run id of the earlier run')
    .option('--config <file>', "the new run's config; its runId must differ from the earlier run's")
    .action(async (earlier: string, opts: { config: string }, cmd: Command) => {
      const raw = readConfigFile(opts.config);
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        validateRunConfig(raw, opts.config); // says what is wrong with it
        return;
      }
      const runId = (raw as { runId?: unknown }).runId;
      if (runId === earlier) {
        throw new UserError(hinted(`${opts.config} has runId "${earlier}", the run it would resume from`, 'give the new run its own runId in the config'));
      }
      // The earlier run's examples live in NANOFLUX_HOME; its Temporal history may be gone (a restarted in-memory server), so this only warns.
      const { client, close } = await connectClient();
      try {
        await describeRun(client, earlier);
      } catch (e) {
        if (!(e instanceof RunNotFound)) throw e;
        console.error(`nanoflux: warning: ${e.message.split(';')[0]}; its stored examples are used if NANOFLUX_HOME holds them`);
      } finally {
        await close();
      }
      await start(cmd, { ...raw, resumeFrom: earlier }, opts.config);
    });
}

async function start(cmd: Command, raw: unknown, file: string): Promise<void> {
  const c = validateRunConfig(raw, file);
  const h = await withClient((client) => startRun(client, raw, c));
  const ui = uiLinks(readEnv(), c.runId).run;
  const resumed = c.resumeFrom ? `, resuming from ${c.resumeFrom}` : '';
  out(cmd).print(`started run ${c.runId} (workflow ${h.workflowId}${resumed})\nweb UI: ${ui}\nwatch it: nanoflux status ${c.runId} --watch`, {
    runId: c.runId,
    workflowId: h.workflowId,
    ui,
    ...(c.resumeFrom ? { resumeFrom: c.resumeFrom } : {}),
  });
}
