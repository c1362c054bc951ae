import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';

const cli = (...args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs'), ...args], { encoding: 'utf8', timeout: 60_000 });

describe('nanoflux command line (the real binary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-cli-'));

  it('validates a good config', () => {
    const r = cli('validate', '--config', join(PROJECT_ROOT, 'configs', 'demo.json'), '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, runId: 'demo' });
  });

  it('refuses a bad config with exit 2 and every field path, no stack trace', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ runId: 'x', domains: [{ name: 'm', brief: 'b', topics: [] }], models: { a: { provider: 'nope', model: 'm' } }, budget: { maxTokens: -1 } }));
    const r = cli('validate', '--config', bad);
    expect(r.status).toBe(2);
    for (const p of ['domains[0].topics', 'models.a.provider', 'models.b', 'budget.maxTokens']) expect(r.stderr).toContain(p);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports unreadable files and broken JSON clearly', () => {
    const missing = cli('validate', '--config', join(dir, 'nope.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read config .*ENOENT/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"runId": ');
    const r = cli('validate', '--config', broken);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
  });

  it('refuses unknown flags and commands', () => {
    expect(cli('validate', '--colour').status).toBe(2);
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('--help').status).toBe(0);
  });
});
