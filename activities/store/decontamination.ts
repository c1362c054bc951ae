import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type NanofluxEnv, PROJECT_ROOT, readEnv } from '../../common/env.js';
import { loadBenchmark, loadPubmedQaRecords } from '../kit/benchmarks.js';
import type { Embedder } from './embeddings/embedder.js';
import { collectionName, pointId } from './vector/point-id.js';
import type { VectorStore } from './vector/vector-store.js';

export type Benchmark = 'gsm8k' | 'pubmedqa';

export interface BenchmarkQuestion {
  id: string;
  text: string;
}

/** NANOFLUX_DATASETS_DIR, else `<project>/datasets`, else the shared datasets beside the project. */
export function defaultDatasetsDir(env: Pick<NanofluxEnv, 'datasetsDir'> = readEnv()): string {
  if (env.datasetsDir) return env.datasetsDir;
  // The project carries the test splits (MIT, licences beside them); the shared folder is the fallback.
  const own = join(PROJECT_ROOT, 'datasets');
  return existsSync(join(own, 'gsm8k')) ? own : resolve(PROJECT_ROOT, '..', 'shared', 'datasets');
}

/**
 * The test split only: those are the questions a generated dataset must not leak. Read by the same
 * loader as evaluation (benchmarks.ts), so an item has one id everywhere; the embedded text is the
 * question alone (PubMedQA's evaluation prompt adds the abstract's contexts).
 */
export function loadBenchmarkQuestions(benchmark: Benchmark, datasetsDir: string): BenchmarkQuestion[] {
  if (benchmark === 'gsm8k') {
    // `test-<line>`: the point ids of collections embedded before the loaders were merged.
    return loadBenchmark('gsm8k', join(datasetsDir, 'gsm8k', 'test.jsonl')).map((item) => ({ id: `test-${item.id}`, text: item.question }));
  }
  return loadPubmedQaRecords(join(datasetsDir, 'pubmedqa')).map((r) => ({ id: r.id, text: r.question }));
}

const BATCH = 64;

/**
 * Embeds the benchmark's test questions into its `decontam` collection, so the novelty check can
 * reject generated questions that copy a test item. Idempotent: deterministic point ids make a
 * retried or concurrent run overwrite rather than duplicate, and a complete collection is left
 * alone, so the second call costs one count. Returns the collection name.
 */
export async function ensureDecontaminationSet(
  store: VectorStore,
  embedder: Embedder,
  benchmark: Benchmark,
  datasetsDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<string> {
  const questions = loadBenchmarkQuestions(benchmark, datasetsDir);
  const collection = collectionName('decontam', benchmark, embedder.id);
  const total = questions.length;
  if ((await store.count(collection)) >= total) {
    onProgress?.(total, total);
    return collection;
  }
  for (let i = 0; i < total; i += BATCH) {
    const batch = questions
      .slice(i, i + BATCH)
      .map((q) => ({ ...q, pointId: pointId(`decontam/${benchmark}/${q.id}`) }));
    // A retried activity resumes where the last attempt stopped instead of re-embedding it all.
    const present = new Set((await store.retrieve(collection, batch.map((q) => q.pointId))).map((p) => p.id));
    const todo = batch.filter((q) => !present.has(q.pointId));
    if (todo.length > 0) {
      const { vectors } = await embedder.embed(todo.map((q) => q.text));
      // The dimensions are known only once the embedder has answered; the call is idempotent.
      await store.ensureCollection(collection, vectors[0]!.length);
      await store.upsert(
        collection,
        todo.map((q, j) => ({
          id: q.pointId,
          vector: vectors[j]!,
          payload: { benchmark, itemId: q.id, text: q.text },
        })),
      );
    }
    onProgress?.(Math.min(i + BATCH, total), total);
  }
  return collection;
}
