import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { devServerPidFile, portHolder, stopDevServer } from '../../scripts/lib/dev-server.js';
import { runCommand } from '../support/run-command.js';

/** `npm run dev-server` on a taken port, and `-- --stop`: it says who holds the port, and stops only a Temporal server. */
describe('npm run dev-server', () => {
  let blocker: Server;
  let port = 0;
  const home = mkdtempSync(join(tmpdir(), 'nf-devserver-'));
  beforeAll(async () => {
    // Accepts and drops: the dev server's probes get an answer that is not Temporal's.
    blocker = createServer((sock) => sock.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => {
    blocker.close();
    blocker.unref();
  });

  it('exits 1 on a taken port and names the process that holds it (here: this test)', async () => {
    const r = await runCommand([join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), join(PROJECT_ROOT, 'scripts', 'dev-server.ts')], {
      env: { ...process.env, NANOFLUX_HOME: home, TEMPORAL_PORT: String(port), TEMPORAL_UI_PORT: '' },
      timeoutMs: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).not.toContain('Temporal on');
    expect(r.stderr).toContain(`[dev-server] port ${port} is taken by another process (pid ${process.pid}: `);
    expect(r.stderr).toMatch(/set TEMPORAL_PORT/);
    expect(existsSync(devServerPidFile(home))).toBe(false);
  }, 60_000);

  it('portHolder: a free port is undefined', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const p = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    expect(await portHolder(p)).toBeUndefined();
  });

  it('--stop: nothing recorded is nothing to stop; a stale pid is removed; a pid that is not a Temporal server is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nf-devserver-stop-'));
    const pidFile = devServerPidFile(dir);
    expect(await stopDevServer(pidFile)).toMatch(/nothing to stop/);
    writeFileSync(pidFile, '999999999\n');
    expect(await stopDevServer(pidFile)).toMatch(/is not running; removed the stale record/);
    expect(existsSync(pidFile)).toBe(false);
    writeFileSync(pidFile, `${process.pid}\n`);
    await expect(stopDevServer(pidFile)).rejects.toThrow(/is not a Temporal dev server .*not stopping it/);
    expect(existsSync(pidFile)).toBe(true);
  });
});
