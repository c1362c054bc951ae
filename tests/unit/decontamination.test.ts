import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  defaultDatasetsDir,
  ensureDecontaminationSet,
  loadBenchmarkQuestions,
} from '../../activities/store/decontamination.js';
import { LocalSentenceEncoder } from '../../activities/store/embeddings/local-use.js';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';

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
    const col = await ensureDecontaminationSet(store, encoder, 'gsm8k', d, (done, total) => progress.push([done, total]));
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
