import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess as startWorker, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

/**
 * The batch tier end to end (issue 16): the game's model calls go through Batch API jobs on the
 * scripted server (tests/support/scripted-batches.ts, standing in for OpenAI's paid Batch API),
 * with the real worker process SIGKILLed while jobs are in flight.
 */
const NS = 'wf-batch';
const PRICE = { inputPerMillion: 2, outputPerMillion: 8 };

function batchConfig(baseURL: string, runId: string, target: number) {
  const base = testConfig(baseURL, runId, { generation: { targetAccepted: target, maxEpisodes: 40, concurrency: 3, noveltyThreshold: 0.85 } });
  const batch = (m: typeof base.models.a) => ({ ...m, tier: 'batch' as const, batch: { maxWaitSeconds: 0.3, pollSeconds: 0.2 }, price: PRICE });
  return { ...base, models: { a: batch(base.models.a!), b: batch(base.models.b!), judge: batch(base.models.judge!), embedding: base.models.embedding! } };
}

describe('a batch-tier run', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const home = tempHome();
  let worker: ChildProcess | undefined;
  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('reaches its target through Batch API jobs, SIGKILLed mid-job: every request answered once, no job twice, nothing stored twice, usage equal to the bill', async () => {
    scriptGame(server, { defenderRight: (_q, n) => n % 2 === 0 });
    // Jobs stay in flight a few polls; the first job's even lines expire and go into a later one.
    server.batches.behave({ pollsToFinish: 6, expire: (_id, i, batchId) => batchId === server.batches.jobs[0]?.id && i % 2 === 0 });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('batch'), args: [batchConfig(server.baseURL, 'batch', 4)] });
    worker = startWorker(NS, home);
    await waitFor(async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode})`);
      return server.batches.jobs.length >= 3 && server.batches.jobs.some((j) => j.status === 'in_progress');
    }, 120_000);
    await killHard(worker);
    worker = startWorker(NS, home);
    const result = await h.result();
    await killHard(worker);
    worker = undefined;

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    // Nothing went around the batch: every chat request was a line of a job.
    expect(server.chatRequests().filter((r) => !r.viaBatch)).toEqual([]);
    const jobs = server.batches.jobs;
    expect(new Set(jobs.map((j) => j.metadata?.nanoflux_flush)).size).toBe(jobs.length);
    // A request is in a second job only after its first expired; each is answered once.
    const expired = new Set(jobs[0]!.lines.filter((_, i) => i % 2 === 0).map((l) => l.custom_id));
    const sent = jobs.flatMap((j) => j.lines.map((l) => l.custom_id));
    expect(sent.filter((id) => !expired.has(id)).length).toBe(new Set(sent.filter((id) => !expired.has(id))).size);
    expect(sent.filter((id) => expired.has(id))).toHaveLength(2 * expired.size);
    const answered = server.chatRequests().filter((r) => r.viaBatch);
    expect(answered).toHaveLength(new Set(sent).size);

    // The run's usage is the provider's bill: the tokens of every line the jobs answered, once, at half price.
    const bill = jobs.flatMap((j) => j.billed);
    expect(bill.map((b) => b.custom_id).sort()).toEqual([...new Set(sent)].sort());
    const billedTokens = bill.reduce((n, b) => n + b.prompt_tokens + b.completion_tokens, 0);
    const billedUsd = bill.reduce((n, b) => n + (b.prompt_tokens * PRICE.inputPerMillion + b.completion_tokens * PRICE.outputPerMillion) / 1e6, 0) / 2;
    expect(d.tokens.attacker + d.tokens.defender + d.tokens.judge).toBe(billedTokens);
    expect(d.cost.attacker + d.cost.defender + d.cost.judge).toBeCloseTo(billedUsd, 9);
    expect(Object.values(d.billed!.batch!).reduce((a, b) => a + b, 0)).toBe(billedTokens);

    const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
    try {
      const points = await store.list(collectionName('examples', 'math', 'openai:embed'), { runId: 'batch' });
      const exported = readFileSync(join(home, 'runs', 'batch', 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id as string);
      expect(points).toHaveLength(d.accepted);
      expect(new Set(exported).size).toBe(exported.length);
    } finally {
      await store.close();
    }
  }, 240_000);

  it('a cancelled run cancels its jobs in flight', async () => {
    scriptGame(server);
    server.batches.behave({ pollsToFinish: 100_000 });
    const before = server.batches.jobs.length;
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('batch-stop'), args: [batchConfig(server.baseURL, 'batch-stop', 2)] });
    worker = startWorker(NS, home);
    await waitFor(async () => server.batches.jobs.length > before, 60_000);
    await h.cancel();
    await waitFor(async () => server.batches.jobs.slice(before).every((j) => j.status === 'cancelled'), 60_000);
    expect(server.chatRequests().filter((r) => r.viaBatch && server.batches.jobs.slice(before).some((j) => j.id === r.viaBatch))).toEqual([]);
  }, 120_000);
});
