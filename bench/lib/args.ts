/** `--name value` from the command line, or the fallback (the benchmarks' one argument reader; no Temporal imports, so the store benchmarks can use it). */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
