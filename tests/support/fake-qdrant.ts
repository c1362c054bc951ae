import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './http.js';

/**
 * TEST DOUBLE — NOT QDRANT. A small in-memory stand-in for a Qdrant server's REST API, because no
 * Qdrant server can be installed in this environment. It lets the contract suite drive
 * QdrantVectorStore through the real `@qdrant/js-client-rest` client (its URL building, JSON
 * serialisation and error handling) over real HTTP.
 *
 * It implements only the endpoints, and the JSON shapes, that the client sends for the calls
 * QdrantVectorStore makes, copying Qdrant's documented behaviour:
 *
 *   GET  /collections/{name}/exists        → { exists }
 *   PUT  /collections/{name}               → true (400 "already exists" when it does)
 *   GET  /collections/{name}               → collection info (config.params.vectors.{size,distance})
 *   PUT  /collections/{name}/points?wait=  → { operation_id, status } (upsert: `points` or `batch`)
 *   POST /collections/{name}/points        → retrieve by ids (missing ids left out)
 *   POST /collections/{name}/points/query  → nearest neighbours of a plain dense vector
 *   POST /collections/{name}/points/count  → { count }
 *   POST /collections/{name}/points/scroll → { points, next_page_offset } ordered by id
 *
 * Responses use Qdrant's envelope `{ result, status: 'ok', time }`; errors are
 * `{ status: { error }, time }`, with 404 "Not found: Collection `x` doesn't exist!" for a missing
 * collection and 400 for malformed input (wrong dimensions, bad point ids, float `match` values).
 * Cosine collections store normalised vectors and score by dot product, as Qdrant does, in float32.
 * Point ids are unsigned integers or UUIDs (returned lowercase, hyphenated); scroll order is by id,
 * integers before UUIDs. Filters: `must` / `should` / `must_not` lists of `{ key, match: { value } }`
 * (and `range`); anything else the fake does not implement is answered 501, so that a gap in the
 * double fails loudly instead of passing silently. Every request is recorded for assertions.
 */

export interface FakeQdrantRequest {
  method: string;
  /** Path and query string, e.g. `/collections/c/points?wait=true`. */
  path: string;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface FakeQdrant {
  url: string;
  requests: FakeQdrantRequest[];
  close(): Promise<void>;
}

type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';
type PointId = number | string;

interface StoredPoint {
  id: PointId;
  vector: Float32Array;
  payload: Record<string, unknown>;
}

interface Collection {
  size: number;
  distance: Distance;
  points: Map<string, StoredPoint>;
  operationId: number;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (msg: string) => new HttpError(400, msg);
const unsupported = (what: string) => new HttpError(501, `fake-qdrant (test double) does not implement ${what}`);

export async function startFakeQdrant(): Promise<FakeQdrant> {
  const collections = new Map<string, Collection>();
  const requests: FakeQdrantRequest[] = [];

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const time = () => Number(process.hrtime.bigint() - started) / 1e9;
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const raw = await readBody(req);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch (e) {
          requests.push({ method: req.method ?? '', path: req.url ?? '', body: raw });
          throw badRequest(`Format error in JSON body: ${(e as Error).message}`);
        }
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      const url = new URL(req.url ?? '/', 'http://fake-qdrant');
      const result = route(req.method ?? 'GET', url, body);
      send(200, { result, status: 'ok', time: time() });
    } catch (e) {
      if (e instanceof HttpError) send(e.code, { status: { error: e.message }, time: time() });
      else send(500, { status: { error: `Service internal error: ${(e as Error).message}` }, time: time() });
    }
  }

  function collection(name: string): Collection {
    const c = collections.get(name);
    if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  function route(method: string, url: URL, body: unknown): unknown {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'collections' || parts.length < 2) throw unsupported(`${method} ${url.pathname}`);
    const name = parts[1]!;
    const rest = parts.slice(2).join('/');
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('Format error in JSON body: expected an object');

    switch (`${method} ${rest}`) {
      case 'GET exists':
        return { exists: collections.has(name) };
      case 'PUT ':
        return createCollection(name, b);
      case 'GET ':
        return collectionInfo(collection(name));
      case 'PUT points':
        return upsert(collection(name), b, url.searchParams.get('wait') === 'true');
      case 'POST points':
        return retrieve(collection(name), b);
      case 'POST points/query':
        return query(collection(name), b);
      case 'POST points/count':
        return count(collection(name), b);
      case 'POST points/scroll':
        return scroll(collection(name), b);
      default:
        throw unsupported(`${method} ${url.pathname}`);
    }
  }

  function createCollection(name: string, b: Record<string, unknown>): true {
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

  function collectionInfo(c: Collection): unknown {
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

  function upsert(c: Collection, b: Record<string, unknown>, wait: boolean): unknown {
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
    return { operation_id: c.operationId++, status: wait ? 'completed' : 'acknowledged' };
  }

  function retrieve(c: Collection, b: Record<string, unknown>): unknown {
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

  function query(c: Collection, b: Record<string, unknown>): unknown {
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

  function count(c: Collection, b: Record<string, unknown>): unknown {
    const test = compileFilter(b.filter);
    let n = 0;
    for (const p of c.points.values()) if (test(p.payload)) n++;
    return { count: n };
  }

  function scroll(c: Collection, b: Record<string, unknown>): unknown {
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // The client's undici agent keeps connections alive: drop them so close() returns now.
        server.closeAllConnections();
      }),
  };
}

function optionalCount(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw badRequest(`Format error in JSON body: invalid value for \`${field}\`, expected usize`);
  }
  return v;
}

const UUID_FORMS = [
  /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
  /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i,
  /^\{([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}$/i,
  /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i,
];

/** Qdrant's ExtendedPointId: an unsigned integer, or a UUID in any form the `uuid` crate parses. */
function parseId(raw: unknown): PointId {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string') {
    for (const re of UUID_FORMS) {
      const m = re.exec(raw);
      if (m) return m.slice(1).join('-').toLowerCase();
    }
  }
  throw badRequest(
    `Format error in JSON body: value ${JSON.stringify(raw)} is not a valid point ID, valid values are either an unsigned integer or a UUID`,
  );
}

const idKey = (id: PointId) => (typeof id === 'number' ? `n:${id}` : `u:${id}`);

/** Integers before UUIDs; UUIDs by their bytes, i.e. by their lowercase hex text. */
function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function normalise(v: Float32Array): void {
  let sq = 0;
  for (const x of v) sq += x * x;
  const len = Math.sqrt(sq);
  if (len < Number.EPSILON) return; // Qdrant leaves a zero vector as it is.
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / len;
}

function score(distance: Distance, q: Float32Array, v: Float32Array): number {
  let acc = 0;
  for (let i = 0; i < q.length; i++) {
    const a = q[i]!;
    const b = v[i]!;
    if (distance === 'Cosine' || distance === 'Dot') acc += a * b;
    else if (distance === 'Euclid') acc += (a - b) * (a - b);
    else acc += Math.abs(a - b);
  }
  return Math.fround(distance === 'Euclid' ? Math.sqrt(acc) : acc);
}

function record(p: StoredPoint, withPayload: unknown, withVector: unknown): unknown {
  const out: Record<string, unknown> = { id: p.id };
  if (withPayload === true) out.payload = structuredClone(p.payload);
  else if (Array.isArray(withPayload)) {
    out.payload = Object.fromEntries(withPayload.filter((k) => k in p.payload).map((k) => [k, p.payload[k]]));
  } else if (withPayload !== false) throw unsupported('with_payload selectors other than true, false or a key list');
  if (withVector === true) out.vector = Array.from(p.vector);
  else if (withVector !== false) throw unsupported('with_vector selectors other than true or false');
  return out;
}

type Test = (payload: Record<string, unknown>) => boolean;

/** Qdrant's Filter, limited to lists of field conditions with `match.value` or `range`. */
function compileFilter(raw: unknown): Test {
  if (raw === undefined || raw === null) return () => true;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Format error in JSON body: invalid filter');
  const f = raw as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    if (!['must', 'should', 'must_not'].includes(k)) throw unsupported(`filter clause \`${k}\``);
  }
  const list = (v: unknown): Test[] => {
    if (v === undefined || v === null) return [];
    return (Array.isArray(v) ? v : [v]).map(compileCondition);
  };
  const must = list(f.must);
  const should = list(f.should);
  const mustNot = list(f.must_not);
  return (p) =>
    must.every((t) => t(p)) && (should.length === 0 || should.some((t) => t(p))) && !mustNot.some((t) => t(p));
}

function compileCondition(raw: unknown): Test {
  if (!raw || typeof raw !== 'object') throw badRequest('Format error in JSON body: invalid condition');
  const c = raw as Record<string, unknown>;
  if (typeof c.key !== 'string') throw unsupported('conditions other than field conditions');
  const key = c.key;
  const extra = Object.keys(c).filter((k) => k !== 'key' && k !== 'match' && k !== 'range');
  if (extra.length > 0 || (c.match !== undefined) === (c.range !== undefined)) {
    throw unsupported(`field condition ${JSON.stringify(c)}`);
  }
  if (c.match !== undefined) {
    const m = c.match as Record<string, unknown>;
    if (!m || typeof m !== 'object' || !('value' in m) || Object.keys(m).length !== 1) {
      throw unsupported(`match ${JSON.stringify(m)}`);
    }
    const want = m.value;
    // ValueVariants in Qdrant: String | Integer(i64) | Bool. A float is not accepted.
    const ok =
      typeof want === 'string' || typeof want === 'boolean' || (typeof want === 'number' && Number.isSafeInteger(want));
    if (!ok) {
      throw badRequest('Format error in JSON body: data did not match any variant of untagged enum ValueVariants');
    }
    return (p) =>
      values(p, key).some((v) =>
        typeof want === 'number' ? typeof v === 'number' && Number.isInteger(v) && v === want : v === want,
      );
  }
  const r = c.range as Record<string, unknown>;
  if (!r || typeof r !== 'object') throw badRequest('Format error in JSON body: invalid range');
  const bound = (k: string) => {
    const v = r[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw unsupported('datetime ranges');
    return v;
  };
  const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
  return (p) =>
    values(p, key).some(
      (v) =>
        typeof v === 'number' &&
        (gt === undefined || v > gt) &&
        (gte === undefined || v >= gte) &&
        (lt === undefined || v < lt) &&
        (lte === undefined || v <= lte),
    );
}

/** The payload values at a dotted key path; an array at the end is matched element by element. */
function values(payload: Record<string, unknown>, key: string): unknown[] {
  let cur: unknown = payload;
  for (const part of key.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return [];
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined) return [];
  return Array.isArray(cur) ? cur : [cur];
}
