import { PROJECT_ROOT } from '../common/env.js';
import type { ModelRef } from '../common/config.js';
import { loadRunConfig } from './lib/client.js';
import { validateRunConfig } from './lib/config-file.js';
import { parseDemoArgs, players, withPlayers } from './lib/demo-args.js';
import { runDemo } from './lib/demo-run.js';
import { EXIT, OperationalError, UserError } from './lib/errors.js';
import { paperReportLines } from './lib/paper-report.js';
import { startStandIn } from './lib/stand-in/server.js';

const HELP = `npm run demo:paper -- [config.json] [--base-url <url> [--model <name>] [--api-key-env VAR] | --model <path.gguf>]

A CPU rehearsal of the paper's experiment (configs/demo-paper.json): the adversarial game, then the
student (the embedded SmolLM2-135M) fine-tuned on the accepted set and on a full-train baseline
(100 GSM8K train items), both evaluated on the same 25 GSM8K test items, the set cut by complexity
and by quality level (size-matched, 2 seeds each), every comparison paired (McNemar, bootstrap), and
the whole compute of each side. About 35 minutes on two cores (measured).

By default model A and the Judge are a stand-in for the paper's paid models (a loopback server,
scripts/lib/stand-in/) and model B is the embedded model; --base-url or --model plays all three
roles with a real model instead (npm run demo -- --help). Its numbers say nothing about the paper:
what it shows is that every table of the report is filled from measurements.`;

const STAND_IN_KEY = 'NANOFLUX_STAND_IN_KEY';

/** The config's refs to models named stand-in-…, pointed at the stand-in server just started. */
function withStandIn(raw: unknown, baseURL: string): unknown {
  const r = raw as { models: Record<string, ModelRef> };
  const point = (ref: ModelRef): ModelRef => (ref.provider === 'openai' && ref.model.startsWith('stand-in-') ? { ...ref, baseURL } : ref);
  return { ...r, models: Object.fromEntries(Object.entries(r.models).map(([k, ref]) => [k, point(ref)])) };
}

async function main(): Promise<void> {
  const args = parseDemoArgs(process.argv.slice(2), PROJECT_ROOT, 'demo-paper.json');
  if (args.help) {
    console.log(HELP);
    return;
  }
  const loaded = loadRunConfig(args.configPath);
  const swap = await players(args, process.env);
  const standIn = swap ? undefined : await startStandIn(['stand-in-frontier', 'stand-in-judge']);
  try {
    let raw = loaded.raw;
    if (swap) raw = withPlayers(raw, swap);
    if (standIn) {
      // The stand-in checks no key; the run's refs name a variable, as every paid ref must.
      process.env[STAND_IN_KEY] ??= 'stand-in-needs-no-key';
      raw = withStandIn(raw, standIn.baseURL);
      console.log(`[demo:paper] model A and the Judge: the stand-in for the paper's paid models at ${standIn.baseURL} (scripts/lib/stand-in/: computed word problems, a Judge that recomputes each with exact_arithmetic); model B: the embedded SmolLM2-135M`);
    }
    const cfg = validateRunConfig(raw, args.configPath);
    const outcome = await runDemo(raw, cfg);
    const { lines, complete } = paperReportLines(outcome.status.report);
    lines.forEach((l) => console.log(`[demo:paper] ${l}`));
    console.log('[demo:paper] these numbers say nothing about the paper: a 135M student, 25 eval items, a stand-in for the frontier models. The README ("Reproduce the paper") says how to run the real experiment');
    if (!outcome.ok || !complete) process.exitCode = EXIT.failure;
  } finally {
    await standIn?.close();
  }
}

main().catch((err) => {
  console.error(`[demo:paper] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof UserError || err instanceof OperationalError ? err.exitCode : EXIT.failure);
});
