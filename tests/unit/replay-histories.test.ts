import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPLAY_HISTORIES, savedHistories, writeHistoryVersion } from '../support/replay-histories.js';

const history = (n: number) => ({ events: Array.from({ length: n }, () => ({ workflowTaskStartedEventAttributes: {} })) });

describe('replay history versions (tests/replay/histories/README.md)', () => {
  it('adds a version one past the highest and never touches the old ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nanoflux-histories-'));
    expect(writeHistoryVersion('run', history(1), dir)).toBe(join(dir, 'run', 'v1.json'));
    const first = readFileSync(join(dir, 'run', 'v1.json'), 'utf8');
    mkdirSync(join(dir, 'domain'));
    writeFileSync(join(dir, 'domain', 'v9.json'), 'old');

    expect(writeHistoryVersion('run', history(2), dir)).toBe(join(dir, 'run', 'v2.json'));
    expect(writeHistoryVersion('domain', history(1), dir)).toBe(join(dir, 'domain', 'v10.json'));
    expect(readFileSync(join(dir, 'run', 'v1.json'), 'utf8')).toBe(first);
    expect(readFileSync(join(dir, 'domain', 'v9.json'), 'utf8')).toBe('old');
    expect(JSON.parse(readFileSync(join(dir, 'run', 'v2.json'), 'utf8')).events).toHaveLength(2);
    expect(savedHistories(dir)).toEqual(['domain/v10.json', 'domain/v9.json', 'run/v1.json', 'run/v2.json']);
    rmSync(dir, { recursive: true });
  });

  it('the committed folder holds a first version of every kind', () => {
    const saved = savedHistories(REPLAY_HISTORIES);
    for (const kind of ['run', 'domain', 'episode', 'stages-run', 'stages-domain', 'stages-variant', 'stages-ablation']) expect(saved).toContain(`${kind}/v1.json`);
  });
});
