// fake-qdrant's points (tests/support/fake-qdrant.ts): their ids, vectors and the records it returns,
// and the HTTP errors it answers malformed input with, as Qdrant does.

export type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';
export type PointId = number | string;

export interface StoredPoint {
  id: PointId;
  vector: Float32Array;
  payload: Record<string, unknown>;
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (msg: string) => new HttpError(400, msg);
export const unsupported = (what: string) => new HttpError(501, `fake-qdrant (test double) does not implement ${what}`);

export function optionalCount(v: unknown, field: string): number | undefined {
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
export function parseId(raw: unknown): PointId {
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

export const idKey = (id: PointId) => (typeof id === 'number' ? `n:${id}` : `u:${id}`);

/** Integers before UUIDs; UUIDs by their bytes, i.e. by their lowercase hex text. */
export function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function normalise(v: Float32Array): void {
  let sq = 0;
  for (const x of v) sq += x * x;
  const len = Math.sqrt(sq);
  if (len < Number.EPSILON) return; // Qdrant leaves a zero vector as it is.
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / len;
}

export function score(distance: Distance, q: Float32Array, v: Float32Array): number {
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

export function record(p: StoredPoint, withPayload: unknown, withVector: unknown): unknown {
  const out: Record<string, unknown> = { id: p.id };
  if (withPayload === true) out.payload = structuredClone(p.payload);
  else if (Array.isArray(withPayload)) {
    out.payload = Object.fromEntries(withPayload.filter((k) => k in p.payload).map((k) => [k, p.payload[k]]));
  } else if (withPayload !== false) throw unsupported('with_payload selectors other than true, false or a key list');
  if (withVector === true) out.vector = Array.from(p.vector);
  else if (withVector !== false) throw unsupported('with_vector selectors other than true or false');
  return out;
}
