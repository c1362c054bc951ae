import { PROJECT_ROOT } from '../common/env.js';
import { loadRunConfig } from './lib/client.js';
import { validateRunConfig } from './lib/config-file.js';
import { DEMO_HELP, parseDemoArgs, players, withPlayers } from './lib/demo-args.js';
import { runDemo } from './lib/demo-run.js';
import { EXIT, OperationalError, UserError } from './lib/errors.js';

/**
 * `npm run demo`: a real adversarial run, offline, on the embedded model (or any GGUF, or any
 * OpenAI-compatible server: `npm run demo -- --help`). What it shows is scripts/lib/demo-run.ts's.
 */
async function main(): Promise<void> {
  const args = parseDemoArgs(process.argv.slice(2), PROJECT_ROOT);
  if (args.help) {
    console.log(DEMO_HELP);
    return;
  }
  const loaded = loadRunConfig(args.configPath);
  const swap = await players(args, process.env);
  const raw = swap ? withPlayers(loaded.raw, swap) : loaded.raw;
  const cfg = swap ? validateRunConfig(raw, args.configPath) : loaded;
  const { ok } = await runDemo(raw, cfg);
  if (!ok) process.exitCode = EXIT.failure;
}

main().catch((err) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof UserError || err instanceof OperationalError ? err.exitCode : EXIT.failure);
});
