import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { type CommandResult, runCommand } from '../support/run-command.js';

/**
 * scripts/nanoflux.mjs runs the CLI compiled into dist/ (scripts/build.mjs) and must never run a
 * stale build. On a copy of the project's sources (the real CLI, the real launcher; node_modules
 * linked), so editing them disturbs nobody: each edit must show in the very next call.
 */
describe('the nanoflux launcher (compiled CLI, rebuilt when a source changes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'nf-launcher-'));
  for (const dir of ['activities', 'common', 'workflows', 'workers', 'scripts']) cpSync(join(PROJECT_ROOT, dir), join(root, dir), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(PROJECT_ROOT, file), join(root, file));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  afterAll(() => {
    // The link first, by itself: nothing here may reach into the project's own node_modules.
    unlinkSync(join(root, 'node_modules'));
    rmSync(root, { recursive: true, force: true });
  });

  const help = (): Promise<CommandResult> => runCommand([process.execPath, join(root, 'scripts', 'nanoflux.mjs'), '--help'], { timeoutMs: 60_000 });
  const stamp = () => JSON.parse(readFileSync(join(root, 'dist', 'cli.build.json'), 'utf8')) as { entry: string; builtAt: string };
  // A module the CLI imports for every command (its error types): an edit deep in the graph, not in the entry file.
  const edited = join(root, 'scripts', 'lib', 'errors.ts');
  const original = readFileSync(edited, 'utf8');
  const mark = (text: string) => writeFileSync(edited, `${original}\nprocess.stderr.write('launcher-test: ${text}\\n');\n`);

  /**
   * A build that saw a file changed within a second of its start does not trust itself (the file may
   * have changed after esbuild read it) and the next call rebuilds: a second later, one more call
   * makes a build that holds, so the next edit is found by its modification time alone.
   */
  async function settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 1100));
    await help();
    const settled = stamp().builtAt;
    const again = await help();
    expect(again.status).toBe(0);
    expect(stamp().builtAt, 'a call rebuilt with nothing changed').toBe(settled);
  }

  it('builds on the first call, then runs the build without rebuilding', async () => {
    const first = await help();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('Usage: nanoflux');
    expect(first.stderr).toBe('');
    expect(existsSync(join(root, 'dist', stamp().entry))).toBe(true);
    await settle();
  });

  it('picks up an edit to an imported source file in the next call, and the one after it', async () => {
    mark('AAAA');
    const a = await help();
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toBe('launcher-test: AAAA\n');
    await settle();
    // The same size: only the modification time tells the launcher.
    mark('BBBB');
    const b = await help();
    expect(b.stderr).toBe('launcher-test: BBBB\n');
    writeFileSync(edited, original);
    const c = await help();
    expect(c.stderr).toBe('');
  });

  it('gives calls that find the build stale at the same moment the edited CLI, each whole', async () => {
    mark('PARALLEL');
    const rs = await Promise.all(Array.from({ length: 4 }, () => help()));
    for (const r of rs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Usage: nanoflux');
      expect(r.stderr).toBe('launcher-test: PARALLEL\n');
    }
    writeFileSync(edited, original);
  });

  it('falls back to tsx with a one-line warning when the sources do not bundle', async () => {
    // An import esbuild cannot resolve, on a path this run never takes: tsx runs the source fine.
    appendFileSync(edited, "\nif (process.argv.includes('--never-given')) await import('./no-such-module.js');\n");
    const r = await help();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: nanoflux');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[build\] could not compile scripts\/cli\.ts \(.*no-such-module\.js.*\); running it through tsx$/);
    writeFileSync(edited, original);
    const back = await help();
    expect(back.stderr).toBe('');
  });
});
