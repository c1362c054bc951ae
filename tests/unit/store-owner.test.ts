import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeOwner } from '../../activities/store/owner.js';
import { isStoreQueue, taskQueues } from '../../common/queues.js';

describe('a data dir\'s store identity', () => {
  it('is made once and kept: every worker on the data dir has it, another data dir has its own', () => {
    const home = join(mkdtempSync(join(tmpdir(), 'nanoflux-owner-')), 'not-yet-made');
    const first = storeOwner(home);
    expect(first.id).toMatch(/^[0-9a-f]{12}$/);
    expect(storeOwner(home)).toEqual(first);
    expect(storeOwner(mkdtempSync(join(tmpdir(), 'nanoflux-owner-'))).id).not.toBe(first.id);
    const q = taskQueues('nanoflux');
    expect(q.store(first.id)).toBe(`nanoflux-store-${first.id}`);
    expect(isStoreQueue(q.store(first.id))).toBe(true);
    expect([q.main, q.llm, q.train, q.trainHost(first.id)].some(isStoreQueue)).toBe(false);
  });

  it('refuses a store-id file it did not write, saying what to do', () => {
    const home = mkdtempSync(join(tmpdir(), 'nanoflux-owner-'));
    writeFileSync(join(home, 'store-id'), 'hello\n');
    expect(() => storeOwner(home)).toThrow(/store-id does not hold a store id \(12 hex digits\): remove it and restart the worker/);
  });
});
