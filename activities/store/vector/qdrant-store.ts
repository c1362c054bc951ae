import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import type { Neighbour, Payload, PayloadFilter, VectorPoint, VectorStore } from './vector-store.js';

const PAGE = 256;

/** The production vector store. Point ids must be UUIDs (see pointId()). */
export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;

  constructor(opts: { url: string; apiKey?: string; timeoutMs?: number }) {
    // The version check is a network call at construction that only logs: skip it.
    this.client = new QdrantClient({
      url: opts.url,
      apiKey: opts.apiKey,
      timeout: opts.timeoutMs ?? 30_000,
      checkCompatibility: false,
    });
  }

  async ensureCollection(name: string, dimensions: number): Promise<void> {
    if (!(await this.client.collectionExists(name)).exists) {
      try {
        await this.client.createCollection(name, { vectors: { size: dimensions, distance: 'Cosine' } });
        return;
      } catch (e) {
        // Another worker may have created it between the check and the create: verify below.
        if (!(await this.client.collectionExists(name)).exists) throw e;
      }
    }
    const info = await this.client.getCollection(name);
    const vectors = info.config.params.vectors;
    const size = vectors && 'size' in vectors ? Number(vectors.size) : undefined;
    if (size !== dimensions) {
      throw new Error(`vector collection "${name}" has ${size ?? 'named'} dimensions, not ${dimensions}`);
    }
  }

  async upsert(collection: string, points: VectorPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i += PAGE) {
      await this.client.upsert(collection, {
        wait: true,
        points: points.slice(i, i + PAGE).map((p) => ({ id: p.id, vector: p.vector, payload: p.payload })),
      });
    }
  }

  async search(collection: string, vector: number[], k: number, filter?: PayloadFilter): Promise<Neighbour[]> {
    if (k <= 0) return [];
    const res = await orEmpty(
      this.client.query(collection, { query: vector, limit: k, filter: toFilter(filter), with_payload: true }),
    );
    return (res?.points ?? []).map((p) => ({ id: String(p.id), score: p.score, payload: p.payload ?? {} }));
  }

  async retrieve(collection: string, ids: string[]): Promise<{ id: string; payload: Payload }[]> {
    if (ids.length === 0) return [];
    const res = await orEmpty(this.client.retrieve(collection, { ids, with_payload: true }));
    return (res ?? []).map((p) => ({ id: String(p.id), payload: p.payload ?? {} }));
  }

  async delete(collection: string, ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += PAGE) {
      await orEmpty(this.client.delete(collection, { wait: true, points: ids.slice(i, i + PAGE) }));
    }
  }

  async count(collection: string, filter?: PayloadFilter): Promise<number> {
    const res = await orEmpty(this.client.count(collection, { filter: toFilter(filter), exact: true }));
    return res?.count ?? 0;
  }

  /** Scroll order is Qdrant's (by id): stable, though not insertion order as in the SQLite store. */
  async list(collection: string, filter?: PayloadFilter): Promise<{ id: string; payload: Payload }[]> {
    const out: { id: string; payload: Payload }[] = [];
    let offset: Schemas['ExtendedPointId'] | undefined;
    do {
      const page = await orEmpty(
        this.client.scroll(collection, { filter: toFilter(filter), limit: PAGE, offset, with_payload: true }),
      );
      if (!page) return out;
      for (const p of page.points) out.push({ id: String(p.id), payload: p.payload ?? {} });
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
    return out;
  }

  async close(): Promise<void> {
    // The REST client holds no connection that needs closing.
  }
}

/**
 * Qdrant's `match.value` takes only a string, an integer (i64) or a boolean, and answers 400 to a
 * float: other numbers are matched as the closed range [value, value] instead.
 */
function toFilter(filter: PayloadFilter | undefined): Schemas['Filter'] | undefined {
  const entries = Object.entries(filter ?? {});
  if (entries.length === 0) return undefined;
  return {
    must: entries.map(([key, value]) =>
      typeof value === 'number' && !Number.isSafeInteger(value)
        ? { key, range: { gte: value, lte: value } }
        : { key, match: { value } },
    ),
  };
}

/** A missing collection reads as empty (the contract), whatever else fails still throws. */
async function orEmpty<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if ((e as { status?: unknown }).status === 404) return undefined;
    throw e;
  }
}
