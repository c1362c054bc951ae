import type Database from 'better-sqlite3';

/**
 * The binary-quantized companion of a collection's float vectors, for fast unfiltered search in
 * SqliteVectorStore. sqlite-vec 0.1.9 has no ANN index: an exact KNN scores every float32 vector
 * (195 MB at 100k × 512-d, ~39 ms per query here). Beside each collection's `vec_<cid>` (float,
 * cosine) lives `vbit_<cid>`, a vec0 `bit[dim]` table holding the sign bits of the same vectors
 * (`vec_quantize_binary`, 64 B per 512-d vector) under the same rowids. A search takes the nearest
 * `OVERSAMPLE · max(k, 2)` by Hamming distance, rescores those candidates by exact cosine on the
 * float vectors and keeps the best k: the scores returned are exact, only the candidate set is
 * approximate. bench/README.md ("What would meet it") measured it at 100k: p99 13 ms (exact: 104),
 * and on GSM8K USE-lite embeddings oversample 32 changed no top-1 and no novelty decision (16 missed
 * 4 of 1,319 top-1s).
 *
 * sqlite-vec quantizes only vectors whose length is a multiple of 8; other collections (tests use
 * 2 and 3 dimensions) have no bit table and are always searched exactly.
 */

/** Candidates per wanted neighbour in the coarse stage (k = 2 → 64 candidates). */
export const OVERSAMPLE = 32;
/** vec0 refuses a KNN k above 4096. */
export const VEC0_MAX_K = 4096;
/** The largest k the coarse stage serves with full oversampling; larger k are searched exactly. */
export const COARSE_MAX_K = Math.floor(VEC0_MAX_K / OVERSAMPLE);
/**
 * Collections with fewer points than this are searched exactly. Measured on the 2-core dev machine
 * (512-d, mmap on, k = 2, p50): exact 0.50 ms vs coarse 0.47 ms at 1.5k, 0.96 vs 0.48 ms at 3k,
 * 1.3 vs 0.6 ms at 4k, 39 vs 7 ms at 100k. Speed breaks even at ~1.5k, but below ~4k the exact scan
 * costs about a millisecond (far under the 20 ms target), so there exactness is kept for free; above
 * it the exact cost grows ~0.4 ms per 1k vectors while the coarse stage barely moves. Most generated
 * datasets (hundreds to a few thousand examples) thus stay exact.
 */
export const DEFAULT_EXACT_BELOW = 4096;

export const bitTable = (cid: number) => `vbit_${cid}`;
export const quantizable = (dimensions: number) => dimensions % 8 === 0;

export interface Row {
  id: string;
  payload: string;
  distance: number;
}

export class BinaryIndex {
  /** Collections whose bit table this connection has seen committed (it is never dropped by reads). */
  private readonly seen = new Set<number>();

  constructor(private readonly db: Database.Database) {}

  private exists(cid: number): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(bitTable(cid)) !==
      undefined
    );
  }

  private build(cid: number, dimensions: number): void {
    this.db.exec(`
      CREATE VIRTUAL TABLE ${bitTable(cid)} USING vec0(embedding bit[${dimensions}]);
      INSERT INTO ${bitTable(cid)} (rowid, embedding) SELECT rowid, vec_quantize_binary(embedding) FROM vec_${cid};`);
  }

  /**
   * Makes sure a collection's bit table exists and matches its float table: creates and backfills it
   * when missing (a file written before this index existed, or a collection another process created
   * with older code), rebuilds it when its row count differs from the float table's (points added
   * by an older writer). Idempotent. The caller must hold the write transaction (BEGIN IMMEDIATE),
   * so two processes migrating the same file do it once, and a failure leaves no half-built table.
   * Returns whether the collection has a bit table.
   */
  migrate(cid: number, dimensions: number, checkCounts: boolean): boolean {
    if (!quantizable(dimensions)) return false;
    if (!this.exists(cid)) {
      this.build(cid, dimensions);
    } else if (checkCounts) {
      const count = (t: string) => this.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
      if (count(bitTable(cid)) !== count(`vec_${cid}`)) {
        this.db.exec(`DROP TABLE ${bitTable(cid)}`);
        this.build(cid, dimensions);
      }
    }
    return true;
  }

  /** Every quantizable collection's bit table, checked against its float table (on open). */
  migrateAll(): void {
    const cols = this.db.prepare('SELECT cid, dimensions FROM collections').all() as {
      cid: number;
      dimensions: number;
    }[];
    for (const c of cols) this.migrate(c.cid, c.dimensions, true);
  }

  /** Whether a search may use the bit table (outside a transaction: it caches a committed state). */
  has(cid: number, dimensions: number): boolean {
    if (this.seen.has(cid)) return true;
    if (!quantizable(dimensions) || !this.exists(cid)) return false;
    this.seen.add(cid);
    return true;
  }

  /** Statements keeping the bit table in step with the float table, inside the caller's transaction. */
  writer(cid: number): { remove: Database.Statement; add: Database.Statement } {
    return {
      remove: this.db.prepare(`DELETE FROM ${bitTable(cid)} WHERE rowid = ?`),
      add: this.db.prepare(`INSERT INTO ${bitTable(cid)} (rowid, embedding) VALUES (?, vec_quantize_binary(?))`),
    };
  }

  /**
   * The k nearest by exact cosine among the coarse candidates (k ≤ COARSE_MAX_K). Payloads are
   * joined only for the k kept, not for every candidate.
   */
  search(cid: number, blob: Buffer, k: number): Row[] {
    return this.db
      .prepare(
        `WITH c AS (SELECT rowid FROM ${bitTable(cid)} WHERE embedding MATCH vec_quantize_binary(?) AND k = ?),
         r AS (SELECT c.rowid AS rowid, vec_distance_cosine(v.embedding, ?) AS distance
               FROM c JOIN vec_${cid} v ON v.rowid = c.rowid ORDER BY distance LIMIT ?)
         SELECT p.id, p.payload, r.distance FROM r JOIN points p ON p.rowid = r.rowid ORDER BY r.distance`,
      )
      .all(blob, OVERSAMPLE * Math.max(k, 2), blob, k) as Row[];
  }
}
