import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRef } from '../../common/config.js';
import { createStoreActivities } from '../../activities/store/activities.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { Ledger } from '../../activities/store/ledger.js';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { type ScriptedOpenAI, bagOfWordsVector, startScriptedOpenAI } from '../support/scripted-openai.js';

/**
 * resume-from's import (importExamples) against a slow embeddings server: the earlier run's
 * questions are embedded again in batches that halve on a timeout, and a second call (a retry after
 * the import landed) embeds nothing.
 */
const tmp = mkdtempSync(join(tmpdir(), 'nf-import-'));
const LIMIT = 8;

describe('importExamples against a slow embeddings server (scripted, real HTTP)', () => {
  let server: ScriptedOpenAI;
  let store: SqliteVectorStore;
  let ledger: Ledger;
  let ref: ModelRef;

  beforeAll(async () => {
    server = await startScriptedOpenAI();
    server.intercept((r) => (r.path.endsWith('/embeddings') && (r.body.input as string[]).length > LIMIT ? { delayMs: 3000 } : undefined));
    store = new SqliteVectorStore(join(tmp, 'vectors.sqlite'));
    ledger = new Ledger(join(tmp, 'ledger.sqlite'));
    ref = { provider: 'openai', model: 'slow-import', baseURL: server.baseURL, timeoutSeconds: 1 };
  });
  afterAll(async () => {
    ledger.close();
    await store.close();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('imports every example once by batches within the limit, and a second call embeds nothing', async () => {
    const embedder = buildEmbedder(ref);
    const collection = collectionName('examples', 'math', embedder.id);
    const questions = Array.from({ length: 30 }, (_, i) => `A shop sells ${i + 2} kites a day; how many in ${i + 3} days?`);
    await store.ensureCollection(collection, bagOfWordsVector('x').length);
    await store.upsert(
      collection,
      questions.map((question, episode) => {
        const id = `old/math/${episode}`;
        return { id: pointId(id), vector: bagOfWordsVector(question), payload: { id, question, domain: 'math', provenance: { runId: 'old', episode }, runId: 'old' } };
      }),
    );
    const activities = createStoreActivities({ owner: { id: '0123456789ab', host: 'test', home: tmp }, store, ledger, embedder: buildEmbedder, datasetsDir: tmp });
    const args = { fromRunId: 'old', runId: 'new', domain: 'math', embedding: ref };

    expect(await activities.importExamples(args)).toEqual({ imported: 30 });
    const sizes = server.requests.map((r) => (r.body.input as string[]).length);
    // 30 (all, under the max of 256) → 15 time out; 7 answers four times; the grown size (14) meets only the last 2.
    expect(sizes).toEqual([30, 15, 7, 7, 7, 7, 2]);
    expect(server.requests.filter((r) => (r.body.input as string[]).length <= LIMIT).flatMap((r) => r.body.input as string[]).sort()).toEqual([...questions].sort());
    const imported = await store.list(collection, { runId: 'new' });
    expect(imported.map((p) => p.payload.id).sort()).toEqual(questions.map((_, e) => `new/math/from-old-${e}`).sort());
    expect(imported.every((p) => (p.payload.importedFrom as { runId: string }).runId === 'old')).toBe(true);

    server.requests.length = 0;
    expect(await activities.importExamples(args)).toEqual({ imported: 30 });
    expect(server.requests).toHaveLength(0);
    expect(await store.count(collection, { runId: 'new' })).toBe(30);
  }, 30_000);
});
