/**
 * Novelty search in the embedded store: ingestion rate and per-query latency of the real
 * SqliteVectorStore (better-sqlite3 + sqlite-vec) at 10k and 100k stored vectors of the embedded
 * encoder's dimension (USE-lite, 512), against baselines measured in the same run on the same
 * vectors:
 *
 * - queries: an in-process brute-force cosine scan over a Float32Array (the simplest correct
 *   implementation); the store's top-1 must equal the scan's on every query;
 * - ingestion: the same rows (id, payload, vector blob) written in the same transactions into a plain
 *   SQLite table, i.e. what persisting the points costs without the vector index.
 *
 * Queries are `search(collection, v, 2)`, as checkNovelty makes them: half are random unit vectors
 * (a new question, nothing near it), half are stored vectors plus noise (a near duplicate).
 * Above its exact-search cut-over the store searches a binary-quantized index and rescores by exact
 * cosine (activities/store/vector/binary-index.ts): its top-1 may then differ from the brute force on a
 * random query, whose nearest is at cosine ~0.2 anyway, so mismatches are counted per query class,
 * with the novelty decisions (nearest ≥ 0.85, the default threshold) that differ.
 *
 * Usage: npx tsx bench/novelty-search.ts [--sizes 10000,100000] [--dim 512] [--queries 500]
 *        [--batch 64] [--singles 500] [--out bench/results/novelty-search.json]
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SqliteVectorStore } from '../activities/store/vector/sqlite-store.js';
import type { VectorPoint } from '../activities/store/vector/vector-store.js';
import { mulberry32 as rng } from '../tests/support/prng.js';
import { arg } from './lib/args.js';

const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const dim = Number(arg('dim', '512'));
const queries = Number(arg('queries', '500'));
/** Points per upsert in bulk ingestion: what decontamination and importExamples use. */
const batch = Number(arg('batch', '64'));
/** Points upserted one at a time at the end of ingestion, as storeExample does per accepted example. */
const singles = Number(arg('singles', '500'));
const outPath = arg('out', join(import.meta.dirname, 'results', 'novelty-search.json'));
const WARMUP = 20;
const TARGET_P99_MS = 20;
/** The default novelty threshold (common/config.ts): a nearest at or above it is a duplicate. */
const NOVELTY_THRESHOLD = 0.85;
// The collection name the app would use for a domain's examples under the embedded encoder.
const COLLECTION = 'nf_examples_math__local_use-lite';

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** `n` random unit vectors of `dim` dimensions, row-major, as float32 (what the store keeps). */
function randomUnitVectors(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const x = gaussian(r);
      out[i * dim + j] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[i * dim + j]! /= norm;
  }
  return out;
}

const row = (data: Float32Array, i: number): Float32Array => data.subarray(i * dim, (i + 1) * dim);
const idOf = (i: number) => `00000000-0000-5000-8000-${i.toString(16).padStart(12, '0')}`;

/** A payload of the size and shape of a stored TrainingExample (~0.7 KB of JSON). */
function payloadOf(i: number): Record<string, unknown> {
  return {
    id: `bench/math/${i}`,
    question: `Question ${i}: a train leaves at 3 pm at 80 km/h; a second leaves an hour later at 100 km/h. When does the second catch up, and how far from the station?`,
    solutionSteps: ['The first train has an 80 km head start.', 'The gap closes at 20 km/h.', 'It takes 4 hours: 8 pm, 400 km out.'],
    answer: '8 pm, 400 km',
    annotation: 'Closing speed is the difference of the speeds, not the sum.',
    domain: 'math',
    skill: 'rates',
    complexity: 3,
    hops: 2,
    quality: 4,
    qualityLevel: 'L4',
    novelty: 0.61,
    provenance: { runId: 'bench', episode: i, workflowId: `nanoflux-bench/math/episode-${i}`, attackerModel: 'model-a', defenderModel: 'model-b', judgeModel: 'judge' },
    runId: 'bench',
  };
}

function point(data: Float32Array, i: number): VectorPoint {
  return { id: idOf(i), vector: Array.from(row(data, i)), payload: payloadOf(i) };
}

/** Brute-force cosine top-2 over the Float32Array: the baseline and the reference answer. */
function bruteTop2(data: Float32Array, norms: Float32Array, n: number, q: Float32Array): { best: number; bestScore: number; second: number; secondScore: number } {
  let qn = 0;
  for (let j = 0; j < dim; j++) qn += q[j]! * q[j]!;
  qn = Math.sqrt(qn);
  let best = -1, bestScore = -Infinity, second = -1, secondScore = -Infinity;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += data[o + j]! * q[j]!;
    const s = dot / (norms[i]! * qn);
    if (s > bestScore) {
      second = best, secondScore = bestScore;
      best = i, bestScore = s;
    } else if (s > secondScore) {
      second = i, secondScore = s;
    }
  }
  return { best, bestScore, second, secondScore };
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1]!, mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

/** The ingestion baseline: the same rows, same transactions, into a plain table (no vector index). */
function plainIngest(path: string, data: Float32Array, n: number): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE points (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, embedding BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO points (id, payload, embedding) VALUES (?, ?, ?)');
  const write = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const f32 = Float32Array.from(row(data, i));
      insert.run(idOf(i), JSON.stringify(payloadOf(i)), Buffer.from(f32.buffer));
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) write.immediate(i, Math.min(n, i + batch));
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

interface SizeResult {
  vectors: number;
  dim: number;
  dbFileMB: number;
  ingestion: {
    bulk: { batch: number; points: number; vectorsPerSec: number; plainTableVectorsPerSec: number; ratioStoreToPlain: number };
    single: { points: number; vectorsPerSec: number };
  };
  queries: {
    count: number;
    k: number;
    store: ReturnType<typeof stats>;
    bruteForce: ReturnType<typeof stats>;
    ratioP50StoreToBrute: number;
    ratioP99StoreToBrute: number;
    top1Mismatches: number;
    top1MismatchesRandom: number;
    top1MismatchesNearDuplicate: number;
    noveltyDecisionChanges: number;
    top1Ties: number;
    maxScoreError: number;
  };
  targetP99Ms: number;
  targetMet: boolean;
}

async function runSize(n: number): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nf-bench-novelty-'));
  try {
    const data = randomUnitVectors(n, 1);
    const norms = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += data[i * dim + j]! ** 2;
      norms[i] = Math.sqrt(s);
    }

    // --- ingestion: bulk batches, then single-point upserts up to n ---
    const plainMs = plainIngest(join(dir, 'plain.sqlite'), data, n - singles);
    const store = new SqliteVectorStore(join(dir, 'vectors.sqlite'));
    await store.ensureCollection(COLLECTION, dim);
    const bulkN = n - singles;
    const t0 = performance.now();
    for (let i = 0; i < bulkN; i += batch) {
      const points: VectorPoint[] = [];
      for (let j = i; j < Math.min(bulkN, i + batch); j++) points.push(point(data, j));
      await store.upsert(COLLECTION, points);
    }
    const bulkMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = bulkN; i < n; i++) await store.upsert(COLLECTION, [point(data, i)]);
    const singleMs = performance.now() - t1;
    const stored = await store.count(COLLECTION);
    if (stored !== n) throw new Error(`store holds ${stored} points, expected ${n}`);

    // --- queries: half random (novel), half near duplicates of stored vectors ---
    const r = rng(2);
    const fresh = randomUnitVectors(Math.ceil((queries + WARMUP) / 2), 3);
    const qs: Float32Array[] = [];
    for (let i = 0; i < queries + WARMUP; i++) {
      if (i % 2 === 0) {
        qs.push(row(fresh, i / 2));
      } else {
        const src = row(data, Math.floor(r() * n));
        const q = new Float32Array(dim);
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += (q[j] = src[j]! + 0.02 * gaussian(r)) ** 2;
        for (let j = 0; j < dim; j++) q[j]! /= Math.sqrt(norm);
        qs.push(q);
      }
    }
    const storeMs: number[] = [];
    const bruteMs: number[] = [];
    let mismatches = 0;
    const mismatchesByClass = [0, 0]; // [random, near duplicate], as i % 2
    let decisionChanges = 0;
    let ties = 0;
    let maxScoreError = 0;
    for (let i = 0; i < qs.length; i++) {
      const qv = Array.from(qs[i]!); // the app hands the store a number[]
      // Alternate which goes first, so neither always runs on a warm cache the other left.
      let hits, ref;
      const a = performance.now();
      if (i % 2 === 0) {
        hits = await store.search(COLLECTION, qv, 2);
      } else {
        ref = bruteTop2(data, norms, n, qs[i]!);
      }
      const b = performance.now();
      if (i % 2 === 0) {
        ref = bruteTop2(data, norms, n, qs[i]!);
      } else {
        hits = await store.search(COLLECTION, qv, 2);
      }
      const c = performance.now();
      const [sMs, bMs] = i % 2 === 0 ? [b - a, c - b] : [c - b, b - a];
      if (i < WARMUP) continue;
      storeMs.push(sMs);
      bruteMs.push(bMs);
      const top = hits![0];
      if (!top || top.id !== idOf(ref!.best)) {
        // Two neighbours within float32 rounding of each other are a tie, not an error.
        if (top && top.id === idOf(ref!.second) && Math.abs(ref!.bestScore - ref!.secondScore) < 1e-5) ties += 1;
        else (mismatches += 1), (mismatchesByClass[i % 2]! += 1);
      }
      if (((top?.score ?? 0) >= NOVELTY_THRESHOLD) !== ref!.bestScore >= NOVELTY_THRESHOLD) decisionChanges += 1;
      if (top) {
        // The score returned against the exact cosine of the point returned (it may not be the
        // brute force's top-1 on a random query, see above).
        const idx = parseInt(top.id.slice(-12), 16);
        const v = row(data, idx), q = qs[i]!;
        let dot = 0, qn = 0;
        for (let j = 0; j < dim; j++) (dot += v[j]! * q[j]!), (qn += q[j]! * q[j]!);
        maxScoreError = Math.max(maxScoreError, Math.abs(top.score - dot / (norms[idx]! * Math.sqrt(qn))));
      }
    }
    await store.close();
    const sizeMB = statSync(join(dir, 'vectors.sqlite')).size / 2 ** 20;
    const s = stats(storeMs);
    const bf = stats(bruteMs);
    const bulkRate = bulkN / (bulkMs / 1000);
    const plainRate = bulkN / (plainMs / 1000);
    return {
      vectors: n,
      dim,
      dbFileMB: Number(sizeMB.toFixed(1)),
      ingestion: {
        bulk: { batch, points: bulkN, vectorsPerSec: bulkRate, plainTableVectorsPerSec: plainRate, ratioStoreToPlain: bulkRate / plainRate },
        single: { points: singles, vectorsPerSec: singles / (singleMs / 1000) },
      },
      queries: {
        count: queries,
        k: 2,
        store: s,
        bruteForce: bf,
        ratioP50StoreToBrute: s.p50 / bf.p50,
        ratioP99StoreToBrute: s.p99 / bf.p99,
        top1Mismatches: mismatches,
        top1MismatchesRandom: mismatchesByClass[0]!,
        top1MismatchesNearDuplicate: mismatchesByClass[1]!,
        noveltyDecisionChanges: decisionChanges,
        top1Ties: ties,
        maxScoreError,
      },
      targetP99Ms: TARGET_P99_MS,
      targetMet: s.p99 <= TARGET_P99_MS,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const results: SizeResult[] = [];
  for (const n of sizes) {
    console.error(`novelty-search: ${n} vectors of ${dim} dimensions…`);
    results.push(await runSize(n));
  }
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log('| vectors | bulk ingest vec/s (batch) | plain table vec/s | ratio store/plain | single upsert vec/s | store p50 ms | store p99 ms | brute p50 ms | brute p99 ms | p50 ratio store/brute | p99 ratio | top-1 mismatches (random / near dup) | novelty decisions changed | p99 ≤ 20 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const q = r.queries;
    console.log(
      `| ${r.vectors} | ${f(r.ingestion.bulk.vectorsPerSec, 0)} (${r.ingestion.bulk.batch}) | ${f(r.ingestion.bulk.plainTableVectorsPerSec, 0)} | ${f(r.ingestion.bulk.ratioStoreToPlain, 3)} | ${f(r.ingestion.single.vectorsPerSec, 0)} | ${f(q.store.p50)} | ${f(q.store.p99)} | ${f(q.bruteForce.p50)} | ${f(q.bruteForce.p99)} | ${f(q.ratioP50StoreToBrute, 3)} | ${f(q.ratioP99StoreToBrute, 3)} | ${q.top1Mismatches}/${q.count} (${q.top1MismatchesRandom} / ${q.top1MismatchesNearDuplicate})${q.top1Ties ? ` (+${q.top1Ties} ties)` : ''} | ${q.noveltyDecisionChanges} | ${r.targetMet ? 'yes' : 'no'} |`,
    );
  }
  if (results.length >= 2) {
    const [lo, hi] = [results[0]!, results[results.length - 1]!];
    console.log(`\nscaling ${lo.vectors} → ${hi.vectors} (${hi.vectors / lo.vectors}x vectors): store p50 ×${f(hi.queries.store.p50 / lo.queries.store.p50)}, brute p50 ×${f(hi.queries.bruteForce.p50 / lo.queries.bruteForce.p50)}, bulk ingest rate ×${f(hi.ingestion.bulk.vectorsPerSec / lo.ingestion.bulk.vectorsPerSec)}`);
  }
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(
    outPath,
    `${JSON.stringify({ benchmark: 'novelty-search', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() }, options: { sizes, dim, queries, batch, singles, warmup: WARMUP }, results }, null, 2)}\n`,
  );
  console.log(`\nwritten: ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
