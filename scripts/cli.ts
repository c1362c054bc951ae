import { isGrpcServiceError, NamespaceNotFoundError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { registerCalibrateCommand } from './commands/calibrate.js';
import { registerConfigCommands } from './commands/config.js';
import { registerControlCommands } from './commands/control.js';
import { registerResultCommands } from './commands/results.js';
import { registerReviewCommands } from './commands/review.js';
import { registerRunCommands } from './commands/runs.js';
import { registerToolCommands } from './commands/tool.js';
import { registerQueueCommands } from './commands/queues.js';
import { type NanofluxEnv, readEnv } from '../common/env.js';
import { EXIT, OperationalError, UserError } from './lib/errors.js';

/**
 * The `nanoflux` command line. Each command group lives in scripts/commands/; this file wires them
 * up and turns every failure into one line on stderr and an exit code scripts can trust:
 * 0 ok, 1 operational failure, 2 usage error or invalid config.
 */
const FOOTER = `
Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), NANOFLUX_HOME (.nanoflux),
  NANOFLUX_UI_URL (http://localhost:8233), NANOFLUX_CLI_TIMEOUT (seconds to wait for a worker, 30),
  NANOFLUX_DEBUG=1 (stack traces of internal errors).
Exit codes: 0 ok, 1 failure (server unreachable, run not found, workflow failed), 2 bad usage or invalid config.
`;

/** Options a command cannot run without (declared as plain options; see the preAction hook). */
const REQUIRED: Record<string, string[]> = {
  validate: ['--config <file>'],
  run: ['--config <file>'],
  'resume-from': ['--config <file>'],
  calibrate: ['--config <file>'],
  score: ['--benchmark <name>', '--predictions <file>'],
};

function buildProgram(): { program: Command; lastError: () => { command: string; text: string } | undefined } {
  let last: { command: string; text: string } | undefined;
  const program = new Command('nanoflux')
    .description('adversarial dataset generation on Temporal')
    .option('--json', 'print one JSON document on stdout instead of text')
    .helpCommand(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText('after', FOOTER);
  for (const register of [registerConfigCommands, registerCalibrateCommand, registerRunCommands, registerControlCommands, registerReviewCommands, registerResultCommands, registerToolCommands, registerQueueCommands]) {
    register(program);
  }
  // Required options are checked here, after commander has refused unknown ones: `--cofig f` should
  // be named as the unknown flag it is (with its "did you mean"), not as a missing `--config`.
  program.hook('preAction', (_root, cmd) => {
    for (const flags of REQUIRED[cmd.name()] ?? []) {
      const key = flags.replace(/^--/, '').replace(/ .*$/, '').replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
      if (cmd.opts()[key] === undefined) cmd.error(`error: required option '${flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: EXIT.usage });
    }
  });
  // Commander's own parse errors are kept here and printed in our one-line form, naming the command.
  for (const c of [program, ...program.commands]) {
    c.configureOutput({ outputError: (text) => (last = { command: c === program ? '' : c.name(), text }) });
  }
  return { program, lastError: () => last };
}

function report(message: string): void {
  console.error(`nanoflux: ${message}`);
}

async function main(argv: string[]): Promise<number> {
  // Read once, before any command: a bad variable is a usage error naming it (common/env.ts).
  let env: NanofluxEnv;
  try {
    env = readEnv();
  } catch (err) {
    report(err instanceof Error ? err.message : String(err));
    return EXIT.usage;
  }
  const { program, lastError } = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'commander.help') return EXIT.usage; // no command given: help went to stderr
      const last = lastError();
      const lines = (last?.text ?? err.message).trim().replace(/^error: /, '').split('\n');
      const suggestion = lines.slice(1).join(' ').trim();
      const help = last?.command ? `nanoflux ${last.command} --help` : 'nanoflux --help';
      report(`${lines[0]!.replace(/\.$/, '')}; ${suggestion ? `${suggestion.replace(/[()]/g, '')} See` : 'see'} \`${help}\``);
      return EXIT.usage;
    }
    if (err instanceof UserError || err instanceof OperationalError) {
      report(err.message);
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    if (env.debug) console.error(e.stack);
    // Temporal's own errors (a server that went away mid-command, a refused request) are operational.
    if (e instanceof ServiceError || e instanceof WorkflowNotFoundError || e instanceof NamespaceNotFoundError || isGrpcServiceError(e)) {
      const details = (e as { cause?: { details?: unknown } }).cause?.details;
      report(`${e.message.split('\n')[0]}${typeof details === 'string' && details ? ` (${details})` : ''}; check that Temporal runs at ${env.temporalAddress} with namespace ${env.temporalNamespace}`);
      return EXIT.failure;
    }
    // Not one of ours: an internal error. Its message, and the stack only when asked for.
    report(`${e.message.split('\n')[0]}; this looks like a bug: run again with NANOFLUX_DEBUG=1 for details`);
    return EXIT.failure;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
