// fake-qdrant's collections (tests/support/fake-qdrant.ts): what each endpoint does to one, as Qdrant does it.
import { compileFilter } from './fake-qdrant-filter.js';
import {
  badRequest,
  compareIds,
  type Distance,
  HttpError,
  idKey,
  normalise,
  optionalCount,
  parseId,
  record,
  score,
  type StoredPoint,
  unsupported,
} from './fake-qdrant-points.js';

export interface Collection {
  size: number;
  distance: Distance;
  points: Map<string, StoredPoint>;
  operationId: number;
}

export function collectionNamed(collections: Map<string, Collection>, name: string): Collection {
  const c = collections.get(name);
  if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
  return c;
}

export function createCollection(collections: Map<string, Collection>, name: string, b: Record<string, unknown>): true {
  const vectors = b.vectors as { size?: unknown; distance?: unknown } | undefined;
  if (!vectors || typeof vectors !== 'object') throw badRequest('Format error in JSON body: missing field `vectors`');
  if (!('size' in vectors)) throw unsupported('named vectors');
  const size = vectors.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    throw badRequest('Validation error in JSON body: [vectors.size: value 0 invalid, must be 1 or larger]');
  }
  const distance = vectors.distance;
  if (distance !== 'Cosine' && distance !== 'Dot' && distance !== 'Euclid' && distance !== 'Manhattan') {
    throw badRequest(`Format error in JSON body: unknown variant \`${String(distance)}\``);
  }
  if (collections.has(name)) throw badRequest(`Wrong input: Collection \`${name}\` already exists!`);
  collections.set(name, { size, distance, points: new Map(), operationId: 0 });
  return true;
}

export function collectionInfo(c: Collection): unknown {
  return {
    status: 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: 0,
    points_count: c.points.size,
    segments_count: 1,
    config: {
      params: {
        vectors: { size: c.size, distance: c.distance },
        shard_number: 1,
        replication_factor: 1,
        write_consistency_factor: 1,
        on_disk_payload: true,
      },
      hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 10000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
      },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: {},
  };
}

export function upsert(c: Collection, b: Record<string, unknown>, wait: boolean): unknown {
  let incoming: { id: unknown; vector: unknown; payload: unknown }[];
  if (Array.isArray(b.points)) {
    incoming = (b.points as Record<string, unknown>[]).map((p) => ({ id: p.id, vector: p.vector, payload: p.payload }));
  } else if (b.batch && typeof b.batch === 'object') {
    const batch = b.batch as { ids?: unknown[]; vectors?: unknown[]; payloads?: unknown[] | null };
    if (!Array.isArray(batch.ids) || !Array.isArray(batch.vectors) || batch.ids.length !== batch.vectors.length) {
      throw badRequest('Wrong input: batch ids and vectors must have the same length');
    }
    incoming = batch.ids.map((id, i) => ({ id, vector: batch.vectors![i], payload: batch.payloads?.[i] }));
  } else {
    throw badRequest('Format error in JSON body: data did not match any variant of untagged enum PointInsertOperations');
  }
  // Validate everything before writing anything, as Qdrant rejects the whole request.
  const parsed = incoming.map((p) => {
    const id = parseId(p.id);
    if (!Array.isArray(p.vector) || !p.vector.every((x) => typeof x === 'number')) {
      if (p.vector && typeof p.vector === 'object') throw unsupported('named, sparse or multi vectors');
      throw badRequest('Format error in JSON body: missing or invalid field `vector`');
    }
    if (p.vector.length !== c.size) {
      throw badRequest(`Wrong input: Vector dimension error: expected dim: ${c.size}, got ${p.vector.length}`);
    }
    if (p.payload !== undefined && p.payload !== null && (typeof p.payload !== 'object' || Array.isArray(p.payload))) {
      throw badRequest('Format error in JSON body: payload must be an object');
    }
    const vector = Float32Array.from(p.vector as number[]);
    if (c.distance === 'Cosine') normalise(vector);
    return { id, vector, payload: structuredClone((p.payload ?? {}) as Record<string, unknown>) };
  });
  for (const p of parsed) c.points.set(idKey(p.id), p);
  return updateResult(c, wait);
}

/** What a write answers: its operation and whether it was waited for. */
const updateResult = (c: Collection, wait: boolean) => ({ operation_id: c.operationId++, status: wait ? 'completed' : 'acknowledged' });

export function deletePoints(c: Collection, b: Record<string, unknown>, wait: boolean): unknown {
  if (!Array.isArray(b.points)) throw unsupported('delete by filter');
  for (const raw of b.points) c.points.delete(idKey(parseId(raw)));
  return updateResult(c, wait);
}

export function retrieve(c: Collection, b: Record<string, unknown>): unknown {
  if (!Array.isArray(b.ids)) throw badRequest('Format error in JSON body: missing field `ids`');
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const raw of b.ids) {
    const key = idKey(parseId(raw));
    const p = c.points.get(key);
    if (!p || seen.has(key)) continue;
    seen.add(key);
    out.push(record(p, b.with_payload ?? true, b.with_vector ?? false));
  }
  return out;
}

export function query(c: Collection, b: Record<string, unknown>): unknown {
  for (const k of ['prefetch', 'using', 'lookup_from', 'params'] as const) {
    if (b[k] !== undefined && b[k] !== null) throw unsupported(`query \`${k}\``);
  }
  const q = b.query;
  if (!Array.isArray(q) || !q.every((x) => typeof x === 'number')) {
    throw unsupported('query forms other than a plain dense vector (nearest)');
  }
  if (q.length !== c.size) {
    throw badRequest(`Wrong input: Vector dimension error: expected dim: ${c.size}, got ${q.length}`);
  }
  const limit = optionalCount(b.limit, 'limit') ?? 10;
  const offset = optionalCount(b.offset, 'offset') ?? 0;
  const threshold = typeof b.score_threshold === 'number' ? b.score_threshold : undefined;
  const test = compileFilter(b.filter);
  const qv = Float32Array.from(q as number[]);
  if (c.distance === 'Cosine') normalise(qv);
  const biggerIsBetter = c.distance === 'Cosine' || c.distance === 'Dot';
  const scored = [...c.points.values()]
    .filter((p) => test(p.payload))
    .map((p) => ({ p, score: score(c.distance, qv, p.vector) }))
    .filter(({ score: s }) => threshold === undefined || (biggerIsBetter ? s >= threshold : s <= threshold))
    .sort((x, y) => (biggerIsBetter ? y.score - x.score : x.score - y.score) || compareIds(x.p.id, y.p.id))
    .slice(offset, offset + limit);
  return {
    points: scored.map(({ p, score: s }) => ({
      ...(record(p, b.with_payload ?? false, b.with_vector ?? false) as object),
      version: 0,
      score: s,
    })),
  };
}

export function count(c: Collection, b: Record<string, unknown>): unknown {
  const test = compileFilter(b.filter);
  let n = 0;
  for (const p of c.points.values()) if (test(p.payload)) n++;
  return { count: n };
}

export function scroll(c: Collection, b: Record<string, unknown>): unknown {
  if (b.order_by !== undefined && b.order_by !== null) throw unsupported('scroll `order_by`');
  const limit = optionalCount(b.limit, 'limit') ?? 10;
  if (limit < 1) throw badRequest('Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]');
  const from = b.offset === undefined || b.offset === null ? undefined : parseId(b.offset);
  const test = compileFilter(b.filter);
  const matching = [...c.points.values()]
    .filter((p) => (from === undefined || compareIds(p.id, from) >= 0) && test(p.payload))
    .sort((x, y) => compareIds(x.id, y.id));
  const page = matching.slice(0, limit);
  const next = matching[limit];
  return {
    points: page.map((p) => record(p, b.with_payload ?? true, b.with_vector ?? false)),
    next_page_offset: next ? next.id : null,
  };
}
