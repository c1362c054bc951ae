import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pointId } from '../../activities/store/vector/point-id.js';
import { QdrantVectorStore } from '../../activities/store/vector/qdrant-store.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { readEnv } from '../../common/env.js';
import type { VectorStore } from '../../activities/store/vector/vector-store.js';
import { type FakeQdrant, startFakeQdrant } from '../support/fake-qdrant.js';

/** Opens a store; called twice in one test, it must give two connections to the same data. */
type Factory = () => VectorStore;

let seq = 0;

function contract(name: string, factory: Factory): void {
  describe(`VectorStore contract: ${name}`, () => {
    let store: VectorStore;
    let col: string;
    const opened: VectorStore[] = [];
    const open = (): VectorStore => {
      const s = factory();
      opened.push(s);
      return s;
    };

    beforeEach(() => {
      store = open();
      // A fresh collection per test, so a shared server (Qdrant) needs no cleanup between tests.
      col = `nf_test_${process.pid}_${Date.now()}_${seq++}`;
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    const id = (k: string) => pointId(`test/${k}`);

    it('ensureCollection is idempotent and rejects other dimensions', async () => {
      await store.ensureCollection(col, 3);
      await store.ensureCollection(col, 3);
      await expect(store.ensureCollection(col, 4)).rejects.toThrow(/dimensions/);
    });

    it('search finds the same vector with score ≈ 1, then the others by similarity', async () => {
      await store.ensureCollection(col, 3);
      await store.upsert(col, [
        { id: id('x'), vector: [1, 0, 0], payload: { name: 'x' } },
        { id: id('xy'), vector: [1, 1, 0], payload: { name: 'xy' } },
        { id: id('y'), vector: [0, 1, 0], payload: { name: 'y' } },
        { id: id('-x'), vector: [-1, 0, 0], payload: { name: '-x' } },
      ]);
      const hits = await store.search(col, [2, 0, 0], 3);
      expect(hits.map((h) => h.payload.name)).toEqual(['x', 'xy', 'y']);
      expect(hits[0]!.id).toBe(id('x'));
      expect(hits[0]!.score).toBeCloseTo(1, 5);
      expect(hits[1]!.score).toBeCloseTo(Math.SQRT1_2, 4);
      expect(hits[2]!.score).toBeCloseTo(0, 4);
      expect(await store.search(col, [1, 0, 0], 10)).toHaveLength(4);
    });

    it('upserting the same id twice stores one point, with the last payload and vector', async () => {
      await store.ensureCollection(col, 2);
      await store.upsert(col, [{ id: id('a'), vector: [1, 0], payload: { v: 1 } }]);
      await store.upsert(col, [{ id: id('a'), vector: [0, 1], payload: { v: 2 } }]);
      expect(await store.count(col)).toBe(1);
      const [hit] = await store.search(col, [0, 1], 1);
      expect(hit).toMatchObject({ id: id('a'), payload: { v: 2 } });
      expect(hit!.score).toBeCloseTo(1, 5);
    });

    it('delete removes the points asked for, and nothing else; missing ids and collections are no-ops', async () => {
      await store.ensureCollection(col, 2);
      await store.upsert(col, [
        { id: id('a'), vector: [1, 0], payload: { k: 'a' } },
        { id: id('b'), vector: [0, 1], payload: { k: 'b' } },
      ]);
      await store.delete(col, [id('a'), id('missing')]);
      await store.delete(col, [id('a')]); // again: idempotent
      expect(await store.count(col)).toBe(1);
      expect(await store.retrieve(col, [id('a'), id('b')])).toEqual([{ id: id('b'), payload: { k: 'b' } }]);
      expect((await store.search(col, [1, 0], 5)).map((h) => h.id)).toEqual([id('b')]);
      expect((await store.list(col)).map((p) => p.id)).toEqual([id('b')]);
      await expect(store.delete(`${col}_missing`, [id('b')])).resolves.toBeUndefined();
      // A deleted id can be stored again.
      await store.upsert(col, [{ id: id('a'), vector: [1, 0], payload: { k: 'a2' } }]);
      expect(await store.retrieve(col, [id('a')])).toEqual([{ id: id('a'), payload: { k: 'a2' } }]);
    });

    it('filters search, count and list on payload equality', async () => {
      await store.ensureCollection(col, 2);
      await store.upsert(col, [
        { id: id('1'), vector: [1, 0], payload: { run: 'r1', n: 1, ok: true } },
        { id: id('2'), vector: [1, 0.1], payload: { run: 'r2', n: 1, ok: false } },
        { id: id('3'), vector: [0, 1], payload: { run: 'r1', n: 2, ok: true } },
      ]);
      expect(await store.count(col)).toBe(3);
      expect(await store.count(col, { run: 'r1' })).toBe(2);
      expect(await store.count(col, { run: 'r1', n: 2 })).toBe(1);
      expect(await store.count(col, { ok: false })).toBe(1);
      expect(await store.count(col, { run: 'none' })).toBe(0);
      const hits = await store.search(col, [1, 0], 5, { run: 'r1' });
      expect(hits.map((h) => h.id)).toEqual([id('1'), id('3')]);
      const listed = await store.list(col, { ok: true });
      expect(listed.map((p) => p.id).sort()).toEqual([id('1'), id('3')].sort());
      expect(listed.find((p) => p.id === id('3'))!.payload).toEqual({ run: 'r1', n: 2, ok: true });
      // Stable: the same call lists in the same order.
      expect(await store.list(col)).toEqual(await store.list(col));
      expect(await store.list(col)).toHaveLength(3);
    });

    it('filters on a non-integer number', async () => {
      await store.ensureCollection(col, 2);
      await store.upsert(col, [
        { id: id('a'), vector: [1, 0], payload: { t: 0.5, n: 2 } },
        { id: id('b'), vector: [0, 1], payload: { t: 1.5, n: 2 } },
      ]);
      expect(await store.count(col, { t: 0.5 })).toBe(1);
      expect((await store.search(col, [0, 1], 5, { t: 1.5, n: 2 })).map((h) => h.id)).toEqual([id('b')]);
      expect((await store.list(col, { t: 0.5 })).map((p) => p.id)).toEqual([id('a')]);
    });

    it('retrieve returns the points asked for, leaving missing ids out', async () => {
      await store.ensureCollection(col, 2);
      await store.upsert(col, [
        { id: id('a'), vector: [1, 0], payload: { k: 'a' } },
        { id: id('b'), vector: [0, 1], payload: { k: 'b' } },
      ]);
      const got = await store.retrieve(col, [id('b'), id('missing')]);
      expect(got).toEqual([{ id: id('b'), payload: { k: 'b' } }]);
    });

    it('a missing collection has no neighbours and no points', async () => {
      expect(await store.search(col, [1, 0], 5)).toEqual([]);
      expect(await store.count(col)).toBe(0);
      expect(await store.list(col)).toEqual([]);
      expect(await store.retrieve(col, [id('a')])).toEqual([]);
    });

    it('two store instances see each other’s writes', async () => {
      const other = open();
      await store.ensureCollection(col, 2);
      await other.ensureCollection(col, 2);
      await store.upsert(col, [{ id: id('a'), vector: [1, 0], payload: { by: 'first' } }]);
      await other.upsert(col, [{ id: id('b'), vector: [0, 1], payload: { by: 'second' } }]);
      expect(await other.count(col)).toBe(2);
      expect(await store.count(col)).toBe(2);
      expect((await store.search(col, [0, 1], 1))[0]!.payload).toEqual({ by: 'second' });
    });
  });
}

// The embedded store runs always, on a temporary file (a file, not :memory:, so that two
// instances are two connections to the same database).
const dir = mkdtempSync(join(tmpdir(), 'nf-vectors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
contract('SQLite + sqlite-vec', () => new SqliteVectorStore(join(dir, 'vectors.sqlite')));

// QdrantVectorStore, through the real @qdrant/js-client-rest over HTTP, against fake-qdrant: an
// in-memory TEST DOUBLE of Qdrant's REST API (no Qdrant server can be installed here). It always
// runs; it checks the store's requests and its reading of responses, not Qdrant itself.
describe('Qdrant REST test double (fake-qdrant, not a real Qdrant server)', () => {
  let fake: FakeQdrant;
  beforeAll(async () => {
    fake = await startFakeQdrant();
  });
  afterAll(() => fake.close());
  const make = () => new QdrantVectorStore({ url: fake.url });

  contract('QdrantVectorStore on fake-qdrant (test double)', make);

  it('pages upserts and scrolls by 256, listing every point in id order', async () => {
    const s = make();
    const col = `nf_test_paging_${seq++}`;
    await s.ensureCollection(col, 2);
    const points = Array.from({ length: 600 }, (_, i) => ({
      id: pointId(`page/${i}`),
      vector: [1, i],
      payload: { i, even: i % 2 === 0 },
    }));
    const from = fake.requests.length;
    await s.upsert(col, points);
    const upserts = fake.requests.slice(from).filter((r) => r.method === 'PUT');
    expect(upserts.map((r) => r.path)).toEqual(Array(3).fill(`/collections/${col}/points?wait=true`));
    expect(upserts.map((r) => (r.body as { points: unknown[] }).points.length)).toEqual([256, 256, 88]);

    const before = fake.requests.length;
    const listed = await s.list(col);
    const scrolls = fake.requests.slice(before);
    expect(scrolls).toHaveLength(3);
    expect(scrolls.every((r) => r.method === 'POST' && r.path === `/collections/${col}/points/scroll`)).toBe(true);
    expect(listed).toHaveLength(600);
    expect(listed.map((p) => p.id)).toEqual(points.map((p) => p.id).sort());
    expect(await s.list(col, { even: true })).toHaveLength(300);
    expect(await s.count(col, { even: false })).toBe(300);
    await s.close();
  });

  it('sends exact counts, payload-only queries and must/match filters', async () => {
    const s = make();
    const col = `nf_test_shapes_${seq++}`;
    await s.ensureCollection(col, 2);
    await s.upsert(col, [{ id: pointId('shape/a'), vector: [1, 0], payload: { run: 'r1', n: 1 } }]);
    const from = fake.requests.length;
    await s.count(col, { run: 'r1', n: 1 });
    await s.search(col, [1, 0], 1, { run: 'r1' });
    const [countReq, queryReq] = fake.requests.slice(from);
    expect(countReq).toEqual({
      method: 'POST',
      path: `/collections/${col}/points/count`,
      body: {
        exact: true,
        filter: {
          must: [
            { key: 'run', match: { value: 'r1' } },
            { key: 'n', match: { value: 1 } },
          ],
        },
      },
    });
    expect(queryReq).toMatchObject({
      method: 'POST',
      path: `/collections/${col}/points/query`,
      body: { query: [1, 0], limit: 1, with_payload: true, filter: { must: [{ key: 'run', match: { value: 'r1' } }] } },
    });
    await s.close();
  });
});

// Qdrant needs a server, which cannot be installed here: this instance alone is skipped unless
// QDRANT_URL is set. Its test collections are left on the server (the interface has no delete).
const { qdrantUrl, qdrantApiKey } = readEnv();
describe.runIf(!!qdrantUrl)('Qdrant (QDRANT_URL)', () => {
  contract('Qdrant', () => new QdrantVectorStore({ url: qdrantUrl!, apiKey: qdrantApiKey }));
});

describe('SqliteVectorStore specifics', () => {
  it('lists in insertion order, an overwrite keeping its place', async () => {
    const s = new SqliteVectorStore(':memory:');
    await s.ensureCollection('c', 2);
    const ids = ['k3', 'k1', 'k2'].map((k) => pointId(k));
    for (const i of ids) await s.upsert('c', [{ id: i, vector: [1, 1], payload: {} }]);
    await s.upsert('c', [{ id: ids[0]!, vector: [1, 0], payload: { again: true } }]);
    expect((await s.list('c')).map((p) => p.id)).toEqual(ids);
    await expect(s.upsert('c', [{ id: ids[0]!, vector: [1, 0, 0], payload: {} }])).rejects.toThrow(/dimensions/);
    await s.close();
  });
});
