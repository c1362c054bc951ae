export type Payload = Record<string, unknown>;

export interface VectorPoint {
  /** A UUID (Qdrant accepts only UUIDs or integers); see pointId(). */
  id: string;
  vector: number[];
  payload: Payload;
}

export interface Neighbour {
  id: string;
  /** Cosine similarity, 1 = same direction. */
  score: number;
  payload: Payload;
}

/** Equality on top-level payload keys, all of which must match. */
export type PayloadFilter = Record<string, string | number | boolean>;

/**
 * The novelty index and the store of accepted examples. Two implementations share one contract
 * test suite: SQLite + sqlite-vec (embedded) and Qdrant.
 */
export interface VectorStore {
  /** Creates the collection if missing; an existing one with other dimensions is an error. */
  ensureCollection(name: string, dimensions: number): Promise<void>;
  /** Idempotent: a point with the same id is overwritten, never stored twice. */
  upsert(collection: string, points: VectorPoint[]): Promise<void>;
  /** The k most similar points, best first. A missing collection has no neighbours. */
  search(collection: string, vector: number[], k: number, filter?: PayloadFilter): Promise<Neighbour[]>;
  /** Points by id (missing ids are left out). */
  retrieve(collection: string, ids: string[]): Promise<{ id: string; payload: Payload }[]>;
  count(collection: string, filter?: PayloadFilter): Promise<number>;
  /** Removes the points with these ids (missing ids, or a missing collection: nothing to do). Idempotent. */
  delete(collection: string, ids: string[]): Promise<void>;
  /** Every point matching the filter, payload only, in a stable order. */
  list(collection: string, filter?: PayloadFilter): Promise<{ id: string; payload: Payload }[]>;
  close(): Promise<void>;
}
