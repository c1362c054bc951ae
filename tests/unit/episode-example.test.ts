import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRef } from '../../common/config.js';
import type { EpisodeSummary, TrainingExample } from '../../common/contracts/index.js';
import { createStoreActivities } from '../../activities/store/activities.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { examplesCollection } from '../../activities/store/examples.js';
import { Ledger } from '../../activities/store/ledger.js';
import { pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

/**
 * An episode's example is its last execution's. `temporal workflow reset` of a terminated run runs
 * again an episode whose first execution stored its example and was terminated before it recorded
 * itself; the second execution asks a new question, and may not be accepted at all
 * (tests/workflow/resume.test.ts saw such an example exported uncounted).
 */
const tmp = mkdtempSync(join(tmpdir(), 'nf-episode-example-'));
const KEY = 'reset/math/5';

function example(question: string): TrainingExample {
  return {
    id: KEY, question, solutionSteps: ['s'], answer: '42', annotation: 'a', domain: 'math', skill: 'k', complexity: 3, hops: 2, quality: 4, qualityLevel: 'L4', novelty: 1,
    provenance: { runId: 'reset', episode: 5, workflowId: 'wf-5', attackerModel: 'a', defenderModel: 'b', judgeModel: 'j' },
  };
}

const summary = (outcome: EpisodeSummary['outcome']): EpisodeSummary =>
  ({ episode: 5, workflowId: 'wf-5', attackerSlot: 'a', topic: 't', targetComplexity: 3, outcome, tokens: {}, cost: {}, toolCalls: 0 }) as unknown as EpisodeSummary;

describe('an episode keeps the example of its last execution only (store activities, real SQLite, scripted embeddings)', () => {
  let server: ScriptedOpenAI;
  let store: SqliteVectorStore;
  let ledger: Ledger;
  let ref: ModelRef;
  let activities: ReturnType<typeof createStoreActivities>;
  let collection: string;

  beforeAll(async () => {
    server = await startScriptedOpenAI();
    store = new SqliteVectorStore(join(tmp, 'vectors.sqlite'));
    ledger = new Ledger(join(tmp, 'ledger.sqlite'));
    ref = { provider: 'openai', model: 'embed', baseURL: server.baseURL };
    activities = createStoreActivities({ owner: { id: '0123456789ab', host: 'test', home: tmp }, store, ledger, embedder: buildEmbedder, datasetsDir: tmp });
    collection = examplesCollection('math', buildEmbedder(ref));
  });
  afterAll(async () => {
    ledger.close();
    await store.close();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const stored = async () => (await store.retrieve(collection, [pointId(KEY)])).map((p) => p.payload.question);
  const record = (outcome: EpisodeSummary['outcome']) =>
    activities.recordEpisode({ workflowId: 'wf-5', runId: 'reset', domain: 'math', episode: 5, summary: summary(outcome), transcript: {}, example: { key: KEY, embedding: ref } });

  it('a re-executed episode replaces the example its discarded execution stored; a retry stores nothing new', async () => {
    expect(await activities.storeExample({ example: example('How many kites in three days?'), embedding: ref, threshold: 0.99 })).toEqual({ id: pointId(KEY) });
    expect(await activities.storeExample({ example: example('What is the area of the field?'), embedding: ref, threshold: 0.99 })).toEqual({ id: pointId(KEY) });
    expect(await stored()).toEqual(['What is the area of the field?']);
    const embedded = server.requests.length;
    await activities.storeExample({ example: example('What is the area of the field?'), embedding: ref, threshold: 0.99 });
    expect(server.requests.length).toBe(embedded); // a retry after the write landed: not even embedded
    expect(await store.count(collection)).toBe(1);
  });

  it('an episode that ends accepted keeps its example; one that ends otherwise leaves none behind', async () => {
    await record('accepted');
    expect(await stored()).toEqual(['What is the area of the field?']);
    await record('defender_correct');
    expect(await stored()).toEqual([]);
    await record('defender_correct'); // a retry: nothing left to discard
    expect(await store.count(collection)).toBe(0);
    // The ledger keeps the record, not the discard instruction.
    const [r] = ledger.episodes('reset');
    expect(r!.summary.outcome).toBe('defender_correct');
    expect(Object.keys(r!)).not.toContain('example');
  });
});
