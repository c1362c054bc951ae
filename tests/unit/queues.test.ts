import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultQueuePrefix, readEnv } from '../../common/env.js';
import { LEGACY_PREFIX, prefixProblem, queuesOf, taskQueues } from '../../common/queues.js';

describe('task queues named from a prefix', () => {
  it('gives the legacy names for the prefix nanoflux, and one family of names per prefix', () => {
    const legacy = taskQueues(LEGACY_PREFIX);
    expect([legacy.main, legacy.llm, legacy.train, legacy.store('0123456789ab'), legacy.trainHost('0123456789ab')]).toEqual([
      'nanoflux', 'nanoflux-llm', 'nanoflux-train', 'nanoflux-store-0123456789ab', 'nanoflux-train-host-0123456789ab',
    ]);
    const other = taskQueues('nanoflux-b-1a2b3c');
    expect([other.main, other.llm, other.train]).toEqual(['nanoflux-b-1a2b3c', 'nanoflux-b-1a2b3c-llm', 'nanoflux-b-1a2b3c-train']);
  });

  it('lets a workflow find its deployment from the queue it runs on: the main queue or one of its store queues', () => {
    for (const prefix of ['nanoflux', 'nanoflux-main-abc123', 'team.x_1']) {
      const q = taskQueues(prefix);
      expect(queuesOf(q.main).llm).toBe(q.llm);
      expect(queuesOf(q.store('fedcba987654')).train).toBe(q.train);
      expect(queuesOf(q.store('fedcba987654')).store('0123456789ab')).toBe(q.store('0123456789ab'));
    }
  });

  it('refuses a prefix that is not a queue name, or that reads as a store queue', () => {
    expect(prefixProblem('nanoflux-lab')).toBeNull();
    expect(prefixProblem('')).toMatch(/letters, digits/);
    expect(prefixProblem('has space')).toMatch(/letters, digits/);
    expect(prefixProblem('-leading')).toMatch(/letters, digits/);
    expect(prefixProblem('x-store-0123456789ab')).toMatch(/store queue/);
    expect(() => readEnv({ NANOFLUX_TASK_QUEUE_PREFIX: 'a b' })).toThrow(/NANOFLUX_TASK_QUEUE_PREFIX="a b": letters, digits/);
    expect(readEnv({ NANOFLUX_TASK_QUEUE_PREFIX: 'lab' }).taskQueuePrefix).toBe('lab');
  });

  it('defaults to one prefix per checkout: stable for a path (and its symlinks), different for another checkout', () => {
    const root = mkdtempSync(join(tmpdir(), 'nanoflux-checkouts-'));
    const a = join(root, 'Main Checkout');
    const b = join(root, 'other');
    mkdirSync(a);
    mkdirSync(b);
    symlinkSync(a, join(root, 'link'));
    expect(defaultQueuePrefix(a)).toMatch(/^nanoflux-main-checkout-[0-9a-f]{6}$/);
    expect(defaultQueuePrefix(a)).toBe(defaultQueuePrefix(a));
    expect(defaultQueuePrefix(join(root, 'link'))).toBe(defaultQueuePrefix(a));
    expect(defaultQueuePrefix(b)).not.toBe(defaultQueuePrefix(a));
    expect(prefixProblem(defaultQueuePrefix(a))).toBeNull();
    expect(readEnv({}).taskQueuePrefix).toBe(defaultQueuePrefix());
  });

  it('reads NANOFLUX_QUEUES as roles, taking the legacy queue names for them', () => {
    expect(readEnv({}).queues).toEqual(['main', 'llm', 'train']);
    expect(readEnv({ NANOFLUX_QUEUES: 'train' }).queues).toEqual(['train']);
    expect(readEnv({ NANOFLUX_QUEUES: 'nanoflux-train, nanoflux' }).queues).toEqual(['train', 'main']);
    expect(() => readEnv({ NANOFLUX_QUEUES: 'gpu' })).toThrow(/NANOFLUX_QUEUES="gpu": unknown queue role gpu; known: main, llm, train/);
  });
});
