import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqliteVec from 'sqlite-vec';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BinaryIndex, DEFAULT_EXACT_BELOW } from '../../activities/store/vector/binary-index.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import type { VectorPoint } from '../../activities/store/vector/vector-store.js';
import { mulberry32 as rng } from '../support/prng.js';

// The binary-quantized index of SqliteVectorStore (activities/store/vector/binary-index.ts): coarse
// Hamming candidates rescored by exact cosine, used for unfiltered searches of collections at or
// above DEFAULT_EXACT_BELOW points, and the migration of files written before it existed.

const DIM = 512;
const dir = mkdtempSync(join(tmpdir(), 'nf-sqlite-vec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileSeq = 0;
const freshPath = () => join(dir, `v${fileSeq++}.sqlite`);

const r = rng(42);
const gaussian = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
/** A unit vector: random, or `base` plus noise (σ = 0.02 per coordinate: cosine ≈ 0.91 at 512-d). */
function unit(base?: Float32Array, sigma = 0.02, dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let j = 0; j < dim; j++) n += (v[j] = (base ? base[j]! : 0) + (base ? sigma : 1) * gaussian()) ** 2;
  for (let j = 0; j < dim; j++) v[j]! /= Math.sqrt(n);
  return v;
}
const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0, na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) (d += a[j]! * b[j]!), (na += a[j]! ** 2), (nb += b[j]! ** 2);
  return d / Math.sqrt(na * nb);
};
const idOf = (i: number) => `00000000-0000-5000-8000-${i.toString(16).padStart(12, '0')}`;
const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

// Above the cut-over: BASES random vectors, then a noisy copy of each of the first COPIES, so a query
// near one of those has two true near neighbours (its top 2 are both meaningful).
const BASES = DEFAULT_EXACT_BELOW + 500;
const COPIES = 500;
const N = BASES + COPIES;
const data: Float32Array[] = Array.from({ length: BASES }, () => unit());
for (let i = 0; i < COPIES; i++) data.push(unit(data[i]));
const points = (): VectorPoint[] =>
  data.map((v, i) => ({ id: idOf(i), vector: Array.from(v), payload: { i, half: i % 2 } }));
// Near duplicates: of a base with a copy (top 2 known), and of one without; and random (novel) ones.
const nearPair = Array.from({ length: 100 }, (_, q) => unit(data[q * 5]!));
const nearSingle = Array.from({ length: 100 }, (_, q) => unit(data[COPIES + q * 30]!));
const random = Array.from({ length: 50 }, () => unit());

/** Exact top k by brute force over the vectors, optionally only those matching `keep`. */
function bruteTopK(q: Float32Array, k: number, keep: (i: number) => boolean = () => true) {
  return data
    .map((v, i) => ({ i, score: keep(i) ? cosine(v, q) : -Infinity }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((h) => ({ id: idOf(h.i), score: h.score }));
}

/** Rows in the float table, the bit table and `points` for one collection, read on a side connection. */
function tableCounts(path: string, name: string): { vec: number; bits: number; points: number } {
  const db = new Database(path, { readonly: true });
  sqliteVec.load(db);
  try {
    const cid = db.prepare('SELECT cid FROM collections WHERE name = ?').pluck().get(name) as number;
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      vec: count(`SELECT count(*) FROM vec_${cid}`),
      bits: count(`SELECT count(*) FROM vbit_${cid}`),
      points: count(`SELECT count(*) FROM points WHERE cid = ${cid}`),
    };
  } finally {
    db.close();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('SqliteVectorStore binary index', () => {
  it(`above ${DEFAULT_EXACT_BELOW} points, unfiltered search agrees with brute force and returns exact cosines; reopen persists`, async () => {
    const path = freshPath();
    let store = new SqliteVectorStore(path);
    await store.ensureCollection('c', DIM);
    const all = points();
    for (let i = 0; i < all.length; i += 256) await store.upsert('c', all.slice(i, i + 256));
    expect(tableCounts(path, 'c')).toEqual({ vec: N, bits: N, points: N });

    const coarse = vi.spyOn(BinaryIndex.prototype, 'search');
    const answers: string[][] = [];
    for (const q of nearPair) {
      const hits = await store.search('c', Array.from(q), 2);
      const exact = bruteTopK(q, 2);
      expect(hits.map((h) => h.id)).toEqual(exact.map((h) => h.id));
      hits.forEach((h, j) => expect(h.score).toBeCloseTo(exact[j]!.score, 5));
      answers.push(hits.map((h) => h.id));
    }
    for (const q of nearSingle) {
      const [hit] = await store.search('c', Array.from(q), 2);
      const [exact] = bruteTopK(q, 1);
      expect(hit!.id).toBe(exact!.id);
      expect(hit!.score).toBeCloseTo(exact!.score, 5);
    }
    // Nothing is near a random query, so the coarse stage may miss the exact nearest; the scores it
    // returns are still exact cosines, best first, and never above the exact best.
    for (const q of random) {
      const hits = await store.search('c', Array.from(q), 2);
      expect(hits).toHaveLength(2);
      for (const h of hits) expect(h.score).toBeCloseTo(cosine(data[h.payload.i as number]!, q), 5);
      expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
      expect(hits[0]!.score).toBeLessThanOrEqual(bruteTopK(q, 1)[0]!.score + 1e-6);
    }
    expect(coarse).toHaveBeenCalledTimes(nearPair.length + nearSingle.length + random.length);

    // Filtered searches stay exact (the coarse stage cannot see payloads), and so do large k.
    coarse.mockClear();
    const q = random[0]!;
    const filtered = await store.search('c', Array.from(q), 3, { half: 1 });
    expect(filtered.map((h) => h.id)).toEqual(bruteTopK(q, 3, (i) => i % 2 === 1).map((h) => h.id));
    const wide = await store.search('c', Array.from(q), 200);
    expect(wide.map((h) => h.id)).toEqual(bruteTopK(q, 200).map((h) => h.id));
    expect(coarse).not.toHaveBeenCalled();

    await store.close();
    store = new SqliteVectorStore(path);
    expect(tableCounts(path, 'c')).toEqual({ vec: N, bits: N, points: N });
    for (let j = 0; j < nearPair.length; j += 10) {
      expect((await store.search('c', Array.from(nearPair[j]!), 2)).map((h) => h.id)).toEqual(answers[j]);
    }
    await store.close();
  });

  it('migrates a file written without bit tables on open, once, with identical search results', async () => {
    const path = freshPath();
    // The schema and writes of the store before the binary index (raw SQL, as that code ran it).
    const old = new Database(path);
    sqliteVec.load(old);
    old.pragma('journal_mode = WAL');
    old.exec(`
      CREATE TABLE collections (cid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dimensions INTEGER NOT NULL);
      CREATE TABLE points (rowid INTEGER PRIMARY KEY, cid INTEGER NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
        UNIQUE (cid, id));
      INSERT INTO collections (name, dimensions) VALUES ('big', ${DIM}), ('odd', 3);
      CREATE VIRTUAL TABLE vec_1 USING vec0(embedding float[${DIM}] distance_metric=cosine);
      CREATE VIRTUAL TABLE vec_2 USING vec0(embedding float[3] distance_metric=cosine);`);
    const insertPoint = old.prepare('INSERT INTO points (cid, id, payload) VALUES (?, ?, ?)');
    const insertVec = (cid: number) => old.prepare(`INSERT INTO vec_${cid} (rowid, embedding) VALUES (?, ?)`);
    const write = (cid: number, rows: { id: string; v: Float32Array; payload: object }[]) =>
      old.transaction(() => {
        for (const row of rows) {
          const rowid = insertPoint.run(cid, row.id, JSON.stringify(row.payload)).lastInsertRowid;
          insertVec(cid).run(BigInt(rowid), blob(row.v));
        }
      })();
    write(1, data.map((v, i) => ({ id: idOf(i), v, payload: { i } })));
    write(2, [{ id: idOf(0), v: Float32Array.from([1, 0, 0]), payload: { i: 0 } }]);
    // What the old store answered: vec0's exact KNN.
    const knn = old.prepare(
      `SELECT p.id, v.distance FROM vec_1 v JOIN points p ON p.rowid = v.rowid WHERE v.embedding MATCH ? AND k = 2 ORDER BY v.distance`,
    );
    const queries = [...nearPair, ...nearSingle.slice(0, 30)];
    const before = queries.map((q) => (knn.all(blob(q)) as { id: string; distance: number }[]).map((h) => ({ id: h.id, score: 1 - h.distance })));
    old.close();

    const build = vi.spyOn(BinaryIndex.prototype as unknown as { build: (cid: number, dim: number) => void }, 'build');
    let store = new SqliteVectorStore(path);
    expect(build).toHaveBeenCalledTimes(1); // 'odd' (3-d) cannot be quantized and stays exact-only
    expect(tableCounts(path, 'big')).toEqual({ vec: N, bits: N, points: N });
    const coarse = vi.spyOn(BinaryIndex.prototype, 'search');
    for (const [j, q] of queries.entries()) {
      const hits = await store.search('big', Array.from(q), 2);
      // Near-single queries: their second neighbour is a random far point, not a stable answer.
      const want = j < nearPair.length ? before[j]! : before[j]!.slice(0, 1);
      const got = hits.slice(0, want.length);
      expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 6));
    }
    expect(coarse).toHaveBeenCalledTimes(queries.length);
    expect((await store.search('odd', [1, 0, 0], 1))[0]!.id).toBe(idOf(0));
    await store.close();

    // Idempotent: a second open builds nothing.
    build.mockClear();
    store = new SqliteVectorStore(path);
    expect(build).not.toHaveBeenCalled();
    await store.close();

    // A writer that predates the index (an old worker still running) appends a point to the float
    // table only: the next open finds the bit table out of step and rebuilds it.
    const late = new Database(path);
    sqliteVec.load(late);
    const extra = unit();
    const rowid = late.prepare('INSERT INTO points (cid, id, payload) VALUES (1, ?, ?)').run(idOf(N), '{}').lastInsertRowid;
    late.prepare('INSERT INTO vec_1 (rowid, embedding) VALUES (?, ?)').run(BigInt(rowid), blob(extra));
    late.close();
    store = new SqliteVectorStore(path);
    expect(build).toHaveBeenCalledTimes(1);
    expect(tableCounts(path, 'big')).toEqual({ vec: N + 1, bits: N + 1, points: N + 1 });
    const [hit] = await store.search('big', Array.from(unit(extra)), 1);
    expect(hit!.id).toBe(idOf(N));
    await store.close();
  });

  it('keeps the bit table in step through upsert-replace and failed upserts', async () => {
    const path = freshPath();
    // A small collection forced onto the coarse path, so its answers come from the bit table.
    const store = new SqliteVectorStore(path, { exactBelow: 1 });
    const coarse = vi.spyOn(BinaryIndex.prototype, 'search');
    const dim = 64;
    await store.ensureCollection('s', dim);
    const first = Array.from({ length: 300 }, () => unit(undefined, 0, dim));
    const at = (vs: Float32Array[], i: number): VectorPoint => ({ id: idOf(i), vector: Array.from(vs[i]!), payload: { i } });
    await store.upsert('s', first.map((_, i) => at(first, i)));
    expect(tableCounts(path, 's')).toEqual({ vec: 300, bits: 300, points: 300 });

    // Replace the first 100 ids with new vectors: one row each, and the new vectors are found.
    const second = Array.from({ length: 100 }, () => unit(undefined, 0, dim));
    await store.upsert('s', second.map((_, i) => at(second, i)));
    await store.upsert('s', second.slice(0, 10).map((_, i) => at(second, i))); // the same again: idempotent
    expect(tableCounts(path, 's')).toEqual({ vec: 300, bits: 300, points: 300 });
    for (let i = 0; i < 100; i += 7) {
      const [hit] = await store.search('s', Array.from(second[i]!), 1);
      expect(hit).toMatchObject({ id: idOf(i) });
      expect(hit!.score).toBeCloseTo(1, 5);
      // The old vector no longer matches its id exactly.
      const [old] = await store.search('s', Array.from(first[i]!), 1);
      expect(old!.score).toBeLessThan(0.99);
    }

    // A delete takes the float, bit and point rows together; the coarse path no longer finds it.
    await store.delete('s', [idOf(0), idOf(1)]);
    expect(tableCounts(path, 's')).toEqual({ vec: 298, bits: 298, points: 298 });
    expect((await store.search('s', Array.from(second[0]!), 3)).map((h) => h.id)).not.toContain(idOf(0));
    await store.upsert('s', [at(second, 0), at(second, 1)]);
    expect(tableCounts(path, 's')).toEqual({ vec: 300, bits: 300, points: 300 });

    // A batch that fails part-way (wrong dimensions) leaves no float or bit row behind.
    const bad: VectorPoint[] = [{ id: idOf(1000), vector: Array.from(unit(undefined, 0, dim)), payload: {} }, { id: idOf(1001), vector: [1, 2, 3], payload: {} }];
    await expect(store.upsert('s', bad)).rejects.toThrow(/dimensions/);
    expect(tableCounts(path, 's')).toEqual({ vec: 300, bits: 300, points: 300 });
    expect(coarse).toHaveBeenCalled();
    await store.close();
  });
});
