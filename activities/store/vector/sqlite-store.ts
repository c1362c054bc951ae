import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { BinaryIndex, COARSE_MAX_K, DEFAULT_EXACT_BELOW, VEC0_MAX_K } from './binary-index.js';
import type { Neighbour, Payload, PayloadFilter, VectorPoint, VectorStore } from './vector-store.js';

interface CollectionRow {
  cid: number;
  dimensions: number;
}

/**
 * The embedded vector store: one SQLite file shared by every worker process on the machine.
 * `points` maps (collection, id) to an integer rowid (vec0 only knows integer rowids) and holds the
 * JSON payload; each collection's vectors live in their own vec0 table `vec_<cid>`, named by a
 * number so that no collection name ever reaches SQL text. Beside each, `vbit_<cid>` holds the same
 * vectors binary-quantized (binary-index.ts), written in the same transactions, for fast unfiltered
 * search of large collections.
 */
export class SqliteVectorStore implements VectorStore {
  private readonly db: Database.Database;
  private readonly bits: BinaryIndex;
  private readonly exactBelow: number;

  /**
   * `exactBelow`: collections with fewer points are searched exactly, larger ones through the
   * binary index (DEFAULT_EXACT_BELOW; tests and benchmarks may move it; Infinity: always exact).
   */
  constructor(path: string, options: { exactBelow?: number } = {}) {
    this.exactBelow = Math.max(1, Math.ceil(options.exactBelow ?? DEFAULT_EXACT_BELOW));
    this.db = new Database(path);
    sqliteVec.load(this.db);
    // Several worker processes write the same file: WAL lets readers run beside a writer, and the
    // busy timeout makes a second writer wait instead of failing with SQLITE_BUSY.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    // Read the file through a memory map instead of copying each page through SQLite's pager: a
    // search reads every vector chunk it scores, and this alone took exact search at 100k vectors
    // from 68 to 40 ms p50 (bench/README.md). Address space only; the OS pages it in and out.
    this.db.pragma(`mmap_size = ${2 ** 30}`);
    this.bits = new BinaryIndex(this.db);
    this.immediate(() => {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS collections (
          cid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dimensions INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS points (
          rowid INTEGER PRIMARY KEY, cid INTEGER NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
          UNIQUE (cid, id));`);
      // Migration, in the same transaction: a file written before the binary index existed gets a
      // bit table per collection, backfilled from its float vectors (0.8 s at 100k × 512-d);
      // a bit table out of step with its float table (an older writer added points) is rebuilt.
      this.bits.migrateAll();
    });
  }

  /** BEGIN IMMEDIATE takes the write lock up front, so read-then-write cannot deadlock two processes. */
  private immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private collection(name: string): CollectionRow | undefined {
    return this.db.prepare('SELECT cid, dimensions FROM collections WHERE name = ?').get(name) as
      | CollectionRow
      | undefined;
  }

  async ensureCollection(name: string, dimensions: number): Promise<void> {
    if (!Number.isInteger(dimensions) || dimensions <= 0) throw new Error(`invalid dimensions ${dimensions}`);
    this.immediate(() => {
      const existing = this.collection(name);
      if (existing) {
        if (existing.dimensions !== dimensions) {
          throw new Error(
            `vector collection "${name}" has ${existing.dimensions} dimensions, not ${dimensions}`,
          );
        }
        return;
      }
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO collections (name, dimensions) VALUES (?, ?)')
        .run(name, dimensions);
      const cid = Number(lastInsertRowid);
      this.db.exec(`CREATE VIRTUAL TABLE vec_${cid} USING vec0(embedding float[${dimensions}] distance_metric=cosine)`);
      this.bits.migrate(cid, dimensions, false);
    });
  }

  async upsert(collection: string, points: VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    this.immediate(() => {
      const col = this.collection(collection);
      if (!col) throw new Error(`vector collection "${collection}" does not exist`);
      const find = this.db.prepare('SELECT rowid FROM points WHERE cid = ? AND id = ?').pluck();
      const insert = this.db.prepare('INSERT INTO points (cid, id, payload) VALUES (?, ?, ?)');
      const update = this.db.prepare('UPDATE points SET payload = ? WHERE rowid = ?');
      const delVec = this.db.prepare(`DELETE FROM vec_${col.cid} WHERE rowid = ?`);
      const addVec = this.db.prepare(`INSERT INTO vec_${col.cid} (rowid, embedding) VALUES (?, ?)`);
      // The bit table moves with the float table, in this transaction (created first if another
      // process made the collection with code that predates it).
      const bits = this.bits.migrate(col.cid, col.dimensions, false) ? this.bits.writer(col.cid) : undefined;
      for (const p of points) {
        const blob = this.vectorBlob(collection, col, p.vector);
        const payload = JSON.stringify(p.payload);
        // An overwrite keeps the original rowid, so `list` keeps first-insertion order.
        let rowid = find.get(col.cid, p.id) as number | bigint | undefined;
        if (rowid === undefined) {
          rowid = insert.run(col.cid, p.id, payload).lastInsertRowid;
        } else {
          update.run(payload, rowid);
          delVec.run(BigInt(rowid));
          bits?.remove.run(BigInt(rowid));
        }
        // vec0 rejects a rowid bound as a JS number (a REAL to SQLite): bind a BigInt.
        addVec.run(BigInt(rowid), blob);
        bits?.add.run(BigInt(rowid), blob);
      }
    });
  }

  async delete(collection: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    this.immediate(() => {
      const col = this.collection(collection);
      if (!col) return;
      const find = this.db.prepare('SELECT rowid FROM points WHERE cid = ? AND id = ?').pluck();
      const delPoint = this.db.prepare('DELETE FROM points WHERE rowid = ?');
      const delVec = this.db.prepare(`DELETE FROM vec_${col.cid} WHERE rowid = ?`);
      // The bit table loses the point in the same transaction, so the two never fall out of step.
      const bits = this.bits.migrate(col.cid, col.dimensions, false) ? this.bits.writer(col.cid) : undefined;
      for (const id of ids) {
        const rowid = find.get(col.cid, id) as number | bigint | undefined;
        if (rowid === undefined) continue;
        delPoint.run(rowid);
        delVec.run(BigInt(rowid));
        bits?.remove.run(BigInt(rowid));
      }
    });
  }

  private vectorBlob(collection: string, col: CollectionRow, vector: number[]): Buffer {
    if (vector.length !== col.dimensions) {
      throw new Error(
        `vector of ${vector.length} dimensions for collection "${collection}" of ${col.dimensions}`,
      );
    }
    const f32 = Float32Array.from(vector);
    return Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);
  }

  async search(collection: string, vector: number[], k: number, filter?: PayloadFilter): Promise<Neighbour[]> {
    const col = this.collection(collection);
    if (!col || k <= 0) return [];
    const blob = this.vectorBlob(collection, col, vector);
    const where = filterSql(filter);
    // Unfiltered searches of large collections: coarse candidates from the bit table, rescored by
    // exact cosine. Filters stay on the exact paths: applied after a coarse top-N they could leave
    // fewer than k matches, or none, where the filtered collection has plenty.
    if (
      where.sql === '' &&
      k <= COARSE_MAX_K &&
      this.bits.has(col.cid, col.dimensions) &&
      this.atLeast(col.cid, this.exactBelow)
    ) {
      return this.bits.search(col.cid, blob, k).map(neighbour);
    }
    // vec0's KNN cannot see payload filters (and caps k at 4096), so filtered or very large
    // queries scan the filtered rows exactly instead: correct, and fast enough at dataset scale.
    const rows = (
      where.sql === '' && k <= VEC0_MAX_K
        ? this.db
            .prepare(
              `SELECT p.id, p.payload, v.distance FROM vec_${col.cid} v JOIN points p ON p.rowid = v.rowid
               WHERE v.embedding MATCH ? AND k = ? ORDER BY v.distance`,
            )
            .all(blob, k)
        : this.db
            .prepare(
              `SELECT p.id, p.payload, vec_distance_cosine(v.embedding, ?) AS distance
               FROM points p JOIN vec_${col.cid} v ON v.rowid = p.rowid
               WHERE p.cid = ?${where.sql} ORDER BY distance LIMIT ?`,
            )
            .all(blob, col.cid, ...where.params, k)
    ) as { id: string; payload: string; distance: number }[];
    return rows.map(neighbour);
  }

  /** Whether a collection holds at least n points, reading at most n index entries (not a count). */
  private atLeast(cid: number, n: number): boolean {
    if (!Number.isFinite(n)) return false;
    return this.db.prepare('SELECT 1 FROM points WHERE cid = ? LIMIT 1 OFFSET ?').get(cid, n - 1) !== undefined;
  }

  async retrieve(collection: string, ids: string[]): Promise<{ id: string; payload: Payload }[]> {
    const col = this.collection(collection);
    if (!col || ids.length === 0) return [];
    const get = this.db.prepare('SELECT id, payload FROM points WHERE cid = ? AND id = ?');
    const out: { id: string; payload: Payload }[] = [];
    for (const id of ids) {
      const row = get.get(col.cid, id) as { id: string; payload: string } | undefined;
      if (row) out.push({ id: row.id, payload: JSON.parse(row.payload) as Payload });
    }
    return out;
  }

  async count(collection: string, filter?: PayloadFilter): Promise<number> {
    const col = this.collection(collection);
    if (!col) return 0;
    const where = filterSql(filter);
    return this.db
      .prepare(`SELECT count(*) FROM points p WHERE p.cid = ?${where.sql}`)
      .pluck()
      .get(col.cid, ...where.params) as number;
  }

  async list(collection: string, filter?: PayloadFilter): Promise<{ id: string; payload: Payload }[]> {
    const col = this.collection(collection);
    if (!col) return [];
    const where = filterSql(filter);
    const rows = this.db
      .prepare(`SELECT p.id, p.payload FROM points p WHERE p.cid = ?${where.sql} ORDER BY p.rowid`)
      .all(col.cid, ...where.params) as { id: string; payload: string }[];
    return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) as Payload }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

const neighbour = (r: { id: string; payload: string; distance: number }): Neighbour => ({
  id: r.id,
  score: 1 - r.distance,
  payload: JSON.parse(r.payload) as Payload,
});

/**
 * Equality on top-level payload keys, as ` AND ...` over `points p`. Booleans are matched on
 * json_type, since json_extract turns true into 1 and would make `{ok: true}` match `{ok: 1}`.
 */
function filterSql(filter: PayloadFilter | undefined): { sql: string; params: (string | number)[] } {
  let sql = '';
  const params: (string | number)[] = [];
  for (const [key, value] of Object.entries(filter ?? {})) {
    const path = `$."${key.replace(/"/g, '""')}"`;
    if (typeof value === 'boolean') {
      sql += ' AND json_type(p.payload, ?) = ?';
      params.push(path, value ? 'true' : 'false');
    } else {
      sql += ' AND json_extract(p.payload, ?) = ?';
      params.push(path, value);
    }
  }
  return { sql, params };
}
