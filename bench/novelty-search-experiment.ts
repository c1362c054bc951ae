/**
 * Why novelty search misses its target at 100k vectors, and what would meet it: an experiment, not
 * part of the benchmark. Builds one store of N random 512-d unit vectors with the real
 * SqliteVectorStore, then times the same top-2 queries several ways on the same file, each checked
 * against an exact brute-force top-1:
 *
 *   store       SqliteVectorStore.search as the app calls it (the reference point, ratio 1)
 *   prepared    the store's vec0 KNN SQL with the statement prepared once (cost of per-query prepare)
 *   mmap        the same SQL on a connection with PRAGMA mmap_size = 1 GiB
 *   cache       the same SQL on a connection with a page cache big enough for every chunk
 *   bit+rescore a bit[512] vec0 table (vec_quantize_binary, 64 B/vector) searched for the nearest
 *               k × oversample by Hamming distance, those candidates rescored by exact cosine on the
 *               float vectors (vec_distance_cosine), best 2 kept
 *   bit+rescore(blob)+mmap  the same coarse search, rescored from the float vectors kept as plain
 *               rowid-keyed blobs (a B-tree lookup each) instead of vec0 point lookups
 *   int8        an int8[512] vec0 table (vec_quantize_int8 'unit', 512 B/vector), cosine KNN, then
 *               the same exact rescoring
 *
 * Queries come in four classes: random (nothing near), and a stored vector plus noise at cosine
 * ≈ 0.91, ≈ 0.85 (the default novelty threshold) and ≈ 0.67. Besides top-1 agreement, it counts
 * novelty decisions (nearest score ≥ 0.85) that differ from the exact search's.
 *
 * Usage: npx tsx bench/novelty-search-experiment.ts [--n 100000] [--queries 400] [--oversample 16]
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteVectorStore } from '../activities/store/vector/sqlite-store.js';
import type { VectorPoint } from '../activities/store/vector/vector-store.js';
import { mulberry32 as rng } from '../tests/support/prng.js';
import { arg } from './lib/args.js';

const N = Number(arg('n', '100000'));
const Q = Number(arg('queries', '400'));
const OVERSAMPLE = Number(arg('oversample', '16'));
const dim = 512;
const COLLECTION = 'nf_examples_math__local_use-lite';

const gaussian = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
function unit(r: () => number, base?: Float32Array, noise = 1): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let j = 0; j < dim; j++) n += (v[j] = (base ? base[j]! : 0) + noise * gaussian(r)) ** 2;
  for (let j = 0; j < dim; j++) v[j]! /= Math.sqrt(n);
  return v;
}
const idOf = (i: number) => `00000000-0000-5000-8000-${i.toString(16).padStart(12, '0')}`;
const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

function top1(data: Float32Array[], q: Float32Array): number {
  let best = -1, bs = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const d = data[i]!;
    let s = 0;
    for (let j = 0; j < dim; j++) s += d[j]! * q[j]!;
    if (s > bs) (bs = s), (best = i);
  }
  return best;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

// Queries in four classes, round robin: a random vector (nothing near it), and a stored vector plus
// noise at cosine ≈ 0.91 (near duplicate), ≈ 0.85 (at the novelty threshold), ≈ 0.67 (related).
const CLASSES = [
  { name: 'random', sigma: 0 },
  { name: 'near 0.91', sigma: 0.02 },
  { name: 'threshold 0.85', sigma: 0.0274 },
  { name: 'related 0.67', sigma: 0.045 },
];
const THRESHOLD = 0.85;

type Search = (q: Float32Array) => Promise<{ id: string; score: number } | undefined>;

async function buildStore(path: string) {
  const r = rng(1);
  const data = Array.from({ length: N }, () => unit(r));
  const store = new SqliteVectorStore(path);
  await store.ensureCollection(COLLECTION, dim);
  for (let i = 0; i < N; i += 256) {
    const pts: VectorPoint[] = [];
    for (let j = i; j < Math.min(N, i + 256); j++) pts.push({ id: idOf(j), vector: Array.from(data[j]!), payload: { id: `bench/${j}`, question: `q ${j}` } });
    await store.upsert(COLLECTION, pts);
  }
  const side = new Database(path);
  sqliteVec.load(side);
  const cid = (side.prepare('SELECT cid FROM collections WHERE name = ?').pluck().get(COLLECTION) as number);
  const t0 = performance.now();
  side.exec(`CREATE VIRTUAL TABLE bits USING vec0(b bit[${dim}]);
    INSERT INTO bits(rowid, b) SELECT rowid, vec_quantize_binary(embedding) FROM vec_${cid};`);
  const bitBuildMs = performance.now() - t0;
  const t1 = performance.now();
  side.exec(`CREATE VIRTUAL TABLE i8 USING vec0(b int8[${dim}] distance_metric=cosine);
    INSERT INTO i8(rowid, b) SELECT rowid, vec_quantize_int8(embedding, 'unit') FROM vec_${cid};`);
  const int8BuildMs = performance.now() - t1;
  // The float vectors again as plain rowid-keyed blobs, for cheap rescoring lookups.
  side.exec(`CREATE TABLE fv (rowid INTEGER PRIMARY KEY, e BLOB NOT NULL);
    INSERT INTO fv(rowid, e) SELECT rowid, embedding FROM vec_${cid};`);
  // Unit vectors: cosine distance = L2² / 2, so an L2 table ranks the same (and may use SIMD).
  side.exec(`CREATE VIRTUAL TABLE l2 USING vec0(b float[${dim}]);
    INSERT INTO l2(rowid, b) SELECT rowid, embedding FROM vec_${cid};`);
  side.close();
  console.error(`built ${N} vectors; quantized copies: bit ${bitBuildMs.toFixed(0)} ms, int8 ${int8BuildMs.toFixed(0)} ms`);
  return { data, store, cid, bitBuildMs, int8BuildMs };
}

function makeQueries(data: Float32Array[]) {
  const qr = rng(7);
  const queries = Array.from({ length: Q + 10 }, (_, i) => {
    const c = CLASSES[i % CLASSES.length]!;
    return c.sigma === 0 ? unit(qr) : unit(qr, data[Math.floor(qr() * N)]!, c.sigma);
  });
  const truth = queries.map((q) => {
    const i = top1(data, q);
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i]![j]! * q[j]!;
    return { id: idOf(i), score: s };
  });
  return { queries, truth };
}

function searchVariants(path: string, store: SqliteVectorStore, cid: number): Record<string, () => Search> {
  const knnSql = (c: number) => `SELECT p.id, p.payload, v.distance FROM vec_${c} v JOIN points p ON p.rowid = v.rowid WHERE v.embedding MATCH ? AND k = ? ORDER BY v.distance`;
  const open = (pragmas: string[] = []) => {
    const db = new Database(path);
    sqliteVec.load(db);
    db.pragma('journal_mode = WAL');
    for (const p of pragmas) db.pragma(p);
    return db;
  };
  const rescore = (db: Database.Database, coarse: string, quant: string) =>
    db.prepare(`WITH c AS (SELECT rowid FROM ${coarse} WHERE b MATCH ${quant} AND k = ?)
      SELECT p.id, p.payload, vec_distance_cosine(v.embedding, ?) AS distance
      FROM c JOIN vec_${cid} v ON v.rowid = c.rowid JOIN points p ON p.rowid = c.rowid
      ORDER BY distance LIMIT 2`);

  const top = (rows: unknown[]) => {
    const r = rows[0] as { id: string; distance: number } | undefined;
    return r && { id: r.id, score: 1 - r.distance };
  };
  // vec0's L2 distance is the root of the sum of squares: for unit vectors cosine = 1 - d² / 2.
  const topL2 = (rows: unknown[]) => {
    const r = rows[0] as { id: string; distance: number } | undefined;
    return r && { id: r.id, score: 1 - (r.distance * r.distance) / 2 };
  };
  const rescoreBlob = (db: Database.Database) =>
    db.prepare(`WITH c AS (SELECT rowid FROM bits WHERE b MATCH vec_quantize_binary(?) AND k = ?)
      SELECT p.id, p.payload, vec_distance_cosine(fv.e, ?) AS distance
      FROM c JOIN fv ON fv.rowid = c.rowid JOIN points p ON p.rowid = c.rowid
      ORDER BY distance LIMIT 2`);
  const variants: Record<string, () => Search> = {
    store: () => async (q) => (await store.search(COLLECTION, Array.from(q), 2))[0],
    prepared: () => {
      const s = open().prepare(knnSql(cid));
      return async (q) => top(s.all(blob(q), 2));
    },
    mmap: () => {
      const s = open(['mmap_size = 1073741824']).prepare(knnSql(cid));
      return async (q) => top(s.all(blob(q), 2));
    },
    cache: () => {
      const s = open([`cache_size = -${Math.ceil((N * dim * 4 * 1.5) / 1024)}`]).prepare(knnSql(cid));
      return async (q) => top(s.all(blob(q), 2));
    },
    l2: () => {
      const s = open().prepare('SELECT p.id, p.payload, v.distance FROM l2 v JOIN points p ON p.rowid = v.rowid WHERE v.b MATCH ? AND k = ? ORDER BY v.distance');
      return async (q) => topL2(s.all(blob(q), 2));
    },
    'l2+mmap': () => {
      const s = open(['mmap_size = 1073741824']).prepare('SELECT p.id, p.payload, v.distance FROM l2 v JOIN points p ON p.rowid = v.rowid WHERE v.b MATCH ? AND k = ? ORDER BY v.distance');
      return async (q) => topL2(s.all(blob(q), 2));
    },
    'bit+rescore': () => {
      const s = rescore(open(), 'bits', 'vec_quantize_binary(?)');
      return async (q) => top(s.all(blob(q), 2 * OVERSAMPLE, blob(q)));
    },
    'bit+rescore+mmap': () => {
      const s = rescore(open(['mmap_size = 1073741824']), 'bits', 'vec_quantize_binary(?)');
      return async (q) => top(s.all(blob(q), 2 * OVERSAMPLE, blob(q)));
    },
    'bit+rescore(blob)+mmap': () => {
      const s = rescoreBlob(open(['mmap_size = 1073741824']));
      return async (q) => top(s.all(blob(q), 2 * OVERSAMPLE, blob(q)));
    },
    'int8+rescore': () => {
      const s = rescore(open(), 'i8', "vec_quantize_int8(?, 'unit')");
      return async (q) => top(s.all(blob(q), 2 * OVERSAMPLE, blob(q)));
    },
  };
  return variants;
}

async function timeVariants(variants: Record<string, () => Search>, { queries, truth }: ReturnType<typeof makeQueries>): Promise<string[]> {
  // Every query runs through every variant, in an order rotated per query: load that comes and goes
  // on a shared machine then falls on all variants alike instead of on whichever ran at the time.
  const names = Object.keys(variants);
  const searchers = names.map((n) => variants[n]!());
  const ms = names.map(() => [] as number[]);
  const miss = names.map(() => CLASSES.map(() => 0));
  const decisions = names.map(() => 0);
  for (let i = 0; i < queries.length; i++) {
    for (let r = 0; r < names.length; r++) {
      const v = (i + r) % names.length;
      const a = performance.now();
      const hit = await searchers[v]!(queries[i]!);
      const t = performance.now() - a;
      if (i < 10) continue; // warm-up
      ms[v]!.push(t);
      if (hit?.id !== truth[i]!.id) miss[v]![i % CLASSES.length]! += 1;
      if ((hit?.score ?? 0) >= THRESHOLD !== truth[i]!.score >= THRESHOLD) decisions[v]! += 1;
    }
  }
  const refP50 = pct(ms[0]!, 50);
  const rows = names.map((name, v) => {
    const p50 = pct(ms[v]!, 50);
    return `| ${name} | ${p50.toFixed(2)} | ${pct(ms[v]!, 99).toFixed(2)} | ${(p50 / refP50).toFixed(3)} | ${miss[v]!.join(' / ')} | ${decisions[v]} |`;
  });
  return rows;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nf-bench-novelty-x-'));
  const path = join(dir, 'vectors.sqlite');
  try {
    const { data, store, cid, bitBuildMs, int8BuildMs } = await buildStore(path);
    const rows = await timeVariants(searchVariants(path, store, cid), makeQueries(data));
    await store.close();
    console.log(`\n${N} vectors × ${dim}, ${Q} queries, oversample ${OVERSAMPLE}\n`);
    const perClass = Math.floor(Q / CLASSES.length);
    console.log(`bit/int8 quantized copies built in ${bitBuildMs.toFixed(0)} / ${int8BuildMs.toFixed(0)} ms\n`);
    console.log(`| variant | p50 ms | p99 ms | p50 / store p50 | top-1 ≠ exact, of ${perClass} per class (${CLASSES.map((c) => c.name).join(' / ')}) | novelty decisions (≥ ${THRESHOLD}) ≠ exact |`);
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
