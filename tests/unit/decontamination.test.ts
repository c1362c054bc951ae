import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelRef } from '../../common/config.js';
import { ErrorType, ModelError } from '../../common/errors.js';
import { toApplicationFailure } from '../../activities/kit/errors.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import type { JobCursor } from '../../activities/store/embeddings/job.js';
import {
  defaultDatasetsDir,
  ensureDecontaminationSet,
  loadBenchmarkQuestions,
} from '../../activities/store/decontamination.js';
import { LocalSentenceEncoder } from '../../activities/store/embeddings/local-use.js';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

const tmp = mkdtempSync(join(tmpdir(), 'nf-decontam-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('benchmark test questions', () => {
  const dir = defaultDatasetsDir();

  it('loads the GSM8K test split', () => {
    const qs = loadBenchmarkQuestions('gsm8k', dir);
    expect(qs).toHaveLength(1319);
    expect(new Set(qs.map((q) => q.id)).size).toBe(1319);
    expect(qs[0]!.text).toMatch(/Janet/);
  });

  it('loads the PubMedQA test split (PQA-L ids of test_ground_truth.json)', () => {
    const qs = loadBenchmarkQuestions('pubmedqa', dir);
    expect(qs).toHaveLength(500);
    expect(qs.every((q) => /^\d+$/.test(q.id) && q.text.endsWith('?'))).toBe(true);
  });

  it('names the file and line of a broken JSON line', () => {
    const d = join(tmp, 'broken');
    mkdirSync(join(d, 'gsm8k'), { recursive: true });
    writeFileSync(join(d, 'gsm8k', 'test.jsonl'), '{"question":"a?"}\n{"question":"b?"}\n{"question": oops\n');
    expect(() => loadBenchmarkQuestions('gsm8k', d)).toThrow(/gsm8k\/test\.jsonl:3: invalid JSON line/);
  });
});

describe('ensureDecontaminationSet', () => {
  it('embeds a small benchmark once, then skips it', async () => {
    const d = join(tmp, 'small');
    mkdirSync(join(d, 'gsm8k'), { recursive: true });
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ question: `How many apples does box ${i} hold?`, answer: '#### 1' }));
    writeFileSync(join(d, 'gsm8k', 'test.jsonl'), lines.join('\n') + '\n');

    const store = new SqliteVectorStore(join(tmp, 'vectors.sqlite'));
    const encoder = new LocalSentenceEncoder();
    const embed = vi.spyOn(encoder, 'embed');
    const progress: [number, number][] = [];
    const col = await ensureDecontaminationSet(store, encoder, 'gsm8k', d, { onProgress: (c) => progress.push([c.done, c.total]) });
    expect(col).toBe(collectionName('decontam', 'gsm8k', 'local:use-lite'));
    expect(await store.count(col)).toBe(20);
    expect(progress.at(-1)).toEqual([20, 20]);
    expect(embed).toHaveBeenCalledTimes(1);

    const [hit] = await store.search(col, (await encoder.embed(['How many apples does box 7 hold?'])).vectors[0]!, 1);
    expect(hit!.payload).toEqual({ benchmark: 'gsm8k', itemId: 'test-7', text: 'How many apples does box 7 hold?' });
    expect(hit!.score).toBeCloseTo(1, 4);

    embed.mockClear();
    await ensureDecontaminationSet(store, encoder, 'gsm8k', d);
    expect(embed).not.toHaveBeenCalled();
    expect(await store.count(col)).toBe(20);
    await store.close();
  });
});

/** A GSM8K test split of `n` distinct questions in a datasets dir of its own. */
function smallGsm8k(name: string, n: number): { dir: string; texts: string[] } {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'gsm8k'), { recursive: true });
  const texts = Array.from({ length: n }, (_, i) => `How many pears are in crate number ${i}?`);
  writeFileSync(join(dir, 'gsm8k', 'test.jsonl'), texts.map((question) => JSON.stringify({ question, answer: '#### 1' })).join('\n') + '\n');
  return { dir, texts };
}

describe('ensureDecontaminationSet against a slow embeddings server (scripted, real HTTP)', () => {
  let server: ScriptedOpenAI;
  let store: SqliteVectorStore;
  /** Batches above this many texts take longer than the call's timeout (1 s). */
  let limit = 8;
  const embeddingInputs = () => server.requests.filter((r) => r.path.endsWith('/embeddings')).map((r) => r.body.input as string[]);
  // Each test its own model name: its own embedder (no vectors cached from another test) and collection.
  const ref = (model: string): ModelRef => ({ provider: 'openai', model, baseURL: server.baseURL, timeoutSeconds: 1 });

  beforeAll(async () => {
    server = await startScriptedOpenAI();
    server.intercept((r) => (r.path.endsWith('/embeddings') && (r.body.input as string[]).length > limit ? { delayMs: 3000 } : undefined));
    store = new SqliteVectorStore(join(tmp, 'slow.sqlite'));
  });
  afterAll(async () => {
    await store.close();
    await server.close();
  });

  it('halves a batch that times out, completes by smaller batches and grows back only after successes', async () => {
    server.requests.length = 0;
    limit = 8;
    const { dir, texts } = smallGsm8k('slow', 100);
    const cursors: JobCursor[] = [];
    const col = await ensureDecontaminationSet(store, buildEmbedder(ref('slow-a')), 'gsm8k', dir, { onProgress: (c) => cursors.push(c) });
    expect(await store.count(col)).toBe(100);
    const sizes = embeddingInputs().map((i) => i.length);
    // 100 (all there is, under the max of 256) → 50 → 25 → 12 time out; 6 works 4 times, 12 times out,
    // 6 works 8 times, 12 times out again, then 6s to the end (growth now waits for 16 successes).
    expect(sizes).toEqual([100, 50, 25, 12, 6, 6, 6, 6, 12, 6, 6, 6, 6, 6, 6, 6, 6, 12, 6, 6, 6, 6, 4]);
    // Every question was embedded by exactly one answered request.
    const answered = embeddingInputs().filter((i) => i.length <= limit).flat();
    expect(answered.sort()).toEqual([...texts].sort());
    // The heartbeat cursor shows the position and the batch size the server answers in time.
    expect(cursors[0]).toEqual({ job: col, done: 0, total: 100, batch: 256 });
    expect(cursors.at(-1)).toEqual({ job: col, done: 100, total: 100, batch: 6 });
    expect(cursors.find((c) => c.done > 0)?.batch).toBe(6);
  }, 60_000);

  it('a retried attempt starts at its predecessor\'s cursor, with the batch size it learned', async () => {
    server.requests.length = 0;
    limit = 8;
    const { dir, texts } = smallGsm8k('resume', 60);
    const embedder = buildEmbedder(ref('slow-b'));
    const cursors: JobCursor[] = [];
    // The first attempt dies (as a killed worker would) after its cursor passed 30.
    const crash = ensureDecontaminationSet(store, embedder, 'gsm8k', dir, {
      onProgress: (c) => {
        cursors.push(c);
        if (c.done >= 30) throw new Error('worker killed');
      },
    });
    await expect(crash).rejects.toThrow('worker killed');
    const last = cursors.at(-1)!;
    const before = embeddingInputs().length;

    const col = await ensureDecontaminationSet(store, embedder, 'gsm8k', dir, { resume: last });
    expect(await store.count(col)).toBe(60);
    const resumed = embeddingInputs().slice(before);
    // Starts at the cursor with the learned size: no timed-out 256/128/… batches again.
    expect(resumed[0]).toEqual(texts.slice(last.done, last.done + last.batch));
    expect(last.batch).toBeLessThanOrEqual(limit);
    expect(resumed.every((i) => i.length <= limit)).toBe(true);
    // Nothing embedded twice: each question is in exactly one answered request over both attempts.
    expect(embeddingInputs().filter((i) => i.length <= limit).flat().sort()).toEqual([...texts].sort());
  }, 60_000);

  it('a single text that still times out fails as a retryable timed-out ModelUnavailable', async () => {
    server.requests.length = 0;
    limit = 0;
    const { dir } = smallGsm8k('hopeless', 2);
    const err = await ensureDecontaminationSet(store, buildEmbedder(ref('slow-c')), 'gsm8k', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ type: ErrorType.ModelUnavailable, timedOut: true });
    expect((err as Error).message).toMatch(/timed out after 1 s/);
    expect(embeddingInputs().map((i) => i.length)).toEqual([2, 1]);
    const failure = toApplicationFailure(err);
    expect(failure.type).toBe(ErrorType.ModelUnavailable);
    expect(failure.nonRetryable).toBe(false);
  }, 30_000);
});
