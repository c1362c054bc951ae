import { createHash } from 'node:crypto';

/** Fixed namespace of this project: changing it would orphan every stored point. */
const NAMESPACE = '6f1d2c3a-8b7e-4f50-9a1c-2e3d4b5a6c7f';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/**
 * UUID v5 of `key` (RFC 4122, SHA-1). Deterministic, so a retried activity upserts the same point
 * instead of adding a duplicate; UUIDs because Qdrant accepts only UUIDs or integers as ids.
 */
export function pointId(key: string): string {
  const hash = createHash('sha1').update(uuidBytes(NAMESPACE)).update(key, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const MAX_NAME = 64;

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
}

/**
 * `nf_<kind>_<name>__<embedder>`: the embedder is part of the name because vectors of different
 * models are not comparable and must never share a collection. Only [a-z0-9_-] so the name is
 * valid for both stores; long names are cut and suffixed with a hash of the full inputs so two
 * long names sharing a prefix still differ.
 */
export function collectionName(kind: 'examples' | 'decontam', name: string, embedderId: string): string {
  const full = `nf_${kind}_${slug(name)}__${slug(embedderId)}`;
  if (full.length <= MAX_NAME) return full;
  const h = createHash('sha1').update(`${kind}\0${name}\0${embedderId}`).digest('hex').slice(0, 10);
  return `${full.slice(0, MAX_NAME - h.length - 1)}_${h}`;
}
