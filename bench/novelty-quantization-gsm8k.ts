/**
 * Does binary quantization (the fast path that bench/novelty-search-experiment.ts measures) keep the
 * novelty decisions on real embeddings? Random unit vectors are the easy case for sign bits; real
 * sentence embeddings are not centred (USE-lite vectors of GSM8K questions have a mean of norm ~0.57
 * and a mean pairwise cosine ~0.3), which takes information out of the signs.
 *
 * Stores the USE-lite (512-d, the embedded encoder) embeddings of GSM8K's train questions in a
 * vec0 table, then asks the nearest neighbour of
 *   - every test question (new questions: the novelty check's usual case), and
 *   - train questions with their numbers changed (near duplicates: what novelty must catch),
 * exactly (brute force) and through a bit[512] coarse search (k × oversample candidates) rescored by
 * exact cosine — with raw signs, and with signs of the vector minus the stored vectors' mean.
 * Reports top-1 agreement and novelty decisions (nearest ≥ threshold) that differ from exact.
 *
 * Usage: npx tsx bench/novelty-quantization-gsm8k.ts [--oversample 16,64] [--threshold 0.85] [--edited 500]
 * (embedding ~8,800 questions on CPU takes a few minutes; vectors are cached in the temp dir)
 */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSentenceEncoder } from '../activities/store/embeddings/local-use.js';
import { arg } from './lib/args.js';

const oversamples = arg('oversample', '16,64').split(',').map(Number);
const threshold = Number(arg('threshold', '0.85'));
const editedCount = Number(arg('edited', '500'));
const dim = 512;

const questions = (file: string) =>
  readFileSync(join(import.meta.dirname, '..', 'datasets', 'gsm8k', file), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { question: string }).question);

/** A near duplicate: the same problem with every number changed. */
const editNumbers = (q: string) => q.replace(/\d+/g, (n) => String(Number(n) + 3));

async function embedAll(texts: string[], cacheName: string): Promise<Float32Array[]> {
  const cache = join(tmpdir(), cacheName);
  if (existsSync(cache)) {
    const buf = readFileSync(cache);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    if (all.length === texts.length * dim) return texts.map((_, i) => all.slice(i * dim, (i + 1) * dim));
  }
  const e = new LocalSentenceEncoder();
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 512) {
    const { vectors } = await e.embed(texts.slice(i, i + 512));
    out.push(...vectors.map((v) => Float32Array.from(v)));
    console.error(`embedded ${out.length}/${texts.length}`);
  }
  const flat = new Float32Array(out.length * dim);
  out.forEach((v, i) => flat.set(v, i * dim));
  writeFileSync(cache, Buffer.from(flat.buffer));
  return out;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[j]! * b[j]!;
  return s;
};
const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

async function main(): Promise<void> {
  const train = questions('train.jsonl');
  const test = questions('test.jsonl');
  const step = Math.max(1, Math.floor(train.length / editedCount));
  const editedIdx = Array.from({ length: editedCount }, (_, i) => (i * step) % train.length).filter((i) => editNumbers(train[i]!) !== train[i]);
  const edited = editedIdx.map((i) => editNumbers(train[i]!));
  const vecs = await embedAll([...train, ...test, ...edited], `nf-bench-gsm8k-use-${train.length}-${test.length}-${edited.length}.f32`);
  const stored = vecs.slice(0, train.length);
  const classes = [
    { name: 'test questions (new)', queries: vecs.slice(train.length, train.length + test.length) },
    { name: 'train questions, numbers changed (near duplicates)', queries: vecs.slice(train.length + test.length) },
  ];

  const mean = new Float32Array(dim);
  for (const v of stored) for (let j = 0; j < dim; j++) mean[j]! += v[j]! / stored.length;
  const centred = (v: Float32Array) => Float32Array.from(v, (x, j) => x - mean[j]!);

  const db = new Database(':memory:');
  sqliteVec.load(db);
  db.exec(`CREATE VIRTUAL TABLE f USING vec0(e float[${dim}] distance_metric=cosine);
    CREATE VIRTUAL TABLE b USING vec0(e bit[${dim}]);
    CREATE VIRTUAL TABLE bc USING vec0(e bit[${dim}]);`);
  const insF = db.prepare('INSERT INTO f(rowid, e) VALUES (?, ?)');
  const insB = db.prepare('INSERT INTO b(rowid, e) VALUES (?, vec_quantize_binary(?))');
  const insBC = db.prepare('INSERT INTO bc(rowid, e) VALUES (?, vec_quantize_binary(?))');
  db.transaction(() => {
    stored.forEach((v, i) => {
      insF.run(BigInt(i), blob(v));
      insB.run(BigInt(i), blob(v));
      insBC.run(BigInt(i), blob(centred(v)));
    });
  })();
  const rescore = (table: string) =>
    db.prepare(`WITH c AS (SELECT rowid FROM ${table} WHERE e MATCH vec_quantize_binary(?) AND k = ?)
      SELECT c.rowid AS id, vec_distance_cosine(f.e, ?) AS distance FROM c JOIN f ON f.rowid = c.rowid ORDER BY distance LIMIT 1`);
  const raw = rescore('b');
  const cen = rescore('bc');

  console.log(`\nGSM8K: ${stored.length} train questions stored (USE-lite, 512-d); threshold ${threshold}; top-1 = the nearest stored question\n`);
  console.log('| queries | n | exact nearest ≥ threshold | variant | oversample (k=2) | top-1 ≠ exact | novelty decisions ≠ exact |');
  console.log('|---|---|---|---|---|---|---|');
  for (const c of classes) {
    const exact = c.queries.map((q) => {
      let best = -1, bs = -Infinity;
      stored.forEach((v, i) => {
        const s = dot(v, q);
        if (s > bs) (bs = s), (best = i);
      });
      return { id: best, score: bs };
    });
    const dup = exact.filter((e) => e.score >= threshold).length;
    for (const [name, stmt, quant] of [['bit, raw signs', raw, (q: Float32Array) => q], ['bit, centred signs', cen, centred]] as const) {
      for (const os of oversamples) {
        let miss = 0, decisions = 0;
        c.queries.forEach((q, i) => {
          const r = stmt.get(blob(quant(q)), 2 * os, blob(q)) as { id: number | bigint; distance: number } | undefined;
          const id = r === undefined ? -1 : Number(r.id);
          const score = r === undefined ? 0 : 1 - r.distance;
          if (id !== exact[i]!.id) miss += 1;
          if (score >= threshold !== exact[i]!.score >= threshold) decisions += 1;
        });
        console.log(`| ${c.name} | ${c.queries.length} | ${dup} | ${name} | ${os} | ${miss} | ${decisions} |`);
      }
    }
  }
  db.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
