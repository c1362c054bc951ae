import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type NanofluxEnv, PROJECT_ROOT, readEnv } from '../../common/env.js';
import { loadBenchmark, loadPubmedQaRecords } from '../kit/benchmarks.js';
import type { Embedder } from './embeddings/embedder.js';
import { type EmbeddingJob, runEmbeddingJob } from './embeddings/job.js';
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

/**
 * Embeds the benchmark's test questions into its `decontam` collection, so the novelty check can
 * reject generated questions that copy a test item. Idempotent: deterministic point ids make a
 * retried or concurrent run overwrite rather than duplicate, and a complete collection is left
 * alone, so the second call costs one count. A slow embedding server gets smaller batches, and a
 * retried attempt starts at the cursor its predecessor heartbeated (`job.resume`; embeddings/job.ts).
 * Returns the collection name.
 */
export async function ensureDecontaminationSet(
  store: VectorStore,
  embedder: Embedder,
  benchmark: Benchmark,
  datasetsDir: string,
  job: Pick<EmbeddingJob<unknown>, 'onProgress' | 'resume'> = {},
): Promise<string> {
  const questions = loadBenchmarkQuestions(benchmark, datasetsDir).map((q) => ({ ...q, pointId: pointId(`decontam/${benchmark}/${q.id}`) }));
  const collection = collectionName('decontam', benchmark, embedder.id);
  const total = questions.length;
  if ((await store.count(collection)) >= total) {
    job.onProgress?.({ job: collection, done: total, total, batch: embedder.maxBatch ?? 1 });
    return collection;
  }
  await runEmbeddingJob({
    ...job,
    job: collection,
    items: questions,
    embedder,
    text: (q) => q.text,
    // Batches stored after the last heartbeat reached the server are found here, not embedded again.
    pending: async (batch) => {
      const present = new Set((await store.retrieve(collection, batch.map((q) => q.pointId))).map((p) => p.id));
      return batch.filter((q) => !present.has(q.pointId));
    },
    write: async (batch, vectors) => {
      // The dimensions are known only once the embedder has answered; the call is idempotent.
      await store.ensureCollection(collection, vectors[0]!.length);
      await store.upsert(
        collection,
        batch.map((q, j) => ({ id: q.pointId, vector: vectors[j]!, payload: { benchmark, itemId: q.id, text: q.text } })),
      );
    },
  });
  return collection;
}
