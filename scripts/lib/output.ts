import { type Command, InvalidArgumentError } from 'commander';

/**
 * What every command prints: human text, or with `--json` exactly one JSON document, on stdout.
 * Errors go to stderr (scripts/cli.ts), so stdout of a `--json` command always parses.
 */
export interface Out {
  json: boolean;
  print(human: string, data: unknown): void;
}

export function out(cmd: Command): Out {
  const json = Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json);
  return { json, print: (human, data) => console.log(json ? JSON.stringify(data) : human) };
}

/** Sets the process's exit code for a command that printed its result but did not fully succeed. */
export function exitWith(code: number): void {
  process.exitCode = code;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`a positive integer is needed, got "${value}"`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`a positive number is needed, got "${value}"`);
  return n;
}
