import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import type { JobCursor } from '../../activities/store/embeddings/job.js';
import { TaskQueue } from '../../common/task-queues.js';
import { defaultDatasetsDir } from '../../activities/store/decontamination.js';
import { domainWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { RecordedRequest, ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

/**
 * A run whose domain has a GSM8K benchmark embeds the test split before its first episode. Here the
 * embedding server is slow (batches above LIMIT texts answer after the ref's timeoutSeconds) and the
 * worker is SIGKILLed in the middle of that job: the restarted worker's retry starts at the cursor
 * the killed one heartbeated, with the batch size it had learned, and embeds no finished batch again
 * (the one batch in flight at the kill may be sent twice).
 */

// The namespace issue 13's slow-server tests were given (tests/support/global-setup.ts).
const NS = 'wf-slow-server';
const RUN = 'decontam-resume';
const QUESTIONS = 300;
/** The most texts a request may carry and still be answered within the timeout. */
const LIMIT = 16;
const TIMEOUT_S = 3;
/** Per text, for a batch the server answers in time: 16 texts take 1.6 s of the 3 s. */
const MS_PER_TEXT = 100;

function smallDatasets(): { dir: string; texts: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nf-datasets-'));
  mkdirSync(join(dir, 'gsm8k'));
  const lines = readFileSync(join(defaultDatasetsDir(), 'gsm8k', 'test.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, QUESTIONS);
  writeFileSync(join(dir, 'gsm8k', 'test.jsonl'), lines.join('\n') + '\n');
  return { dir, texts: lines.map((l) => (JSON.parse(l) as { question: string }).question) };
}

describe('a worker SIGKILLed while it embeds a benchmark for decontamination', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const home = tempHome();
  let worker: ChildProcess | undefined;

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('resumes from its last heartbeated batch with the learned size, embedding no finished batch again', async () => {
    const { dir, texts } = smallDatasets();
    const index = new Map(texts.map((t, i) => [t, i]));
    scriptGame(server);
    server.intercept((r) => {
      if (!r.path.endsWith('/embeddings')) return undefined;
      const n = (r.body.input as string[]).length;
      return { delayMs: n > LIMIT ? 4 * TIMEOUT_S * 1000 : n * MS_PER_TEXT };
    });
    const base = testConfig(server.baseURL, RUN, { generation: { targetAccepted: 1, maxEpisodes: 10, concurrency: 1 } });
    const config = {
      ...base,
      domains: base.domains.map((d) => ({ ...d, benchmark: 'gsm8k' as const })),
      models: { ...base.models, embedding: { ...base.models.embedding, timeoutSeconds: TIMEOUT_S } },
    };
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(RUN), args: [config] });
    const start = () => startWorkerProcess(NS, home, { NANOFLUX_DATASETS_DIR: dir });

    /** The decontamination job's cursor as the server holds it (the last heartbeat that reached it), with its attempt. */
    const serverCursor = async (): Promise<{ cursor?: JobCursor; attempt: number } | undefined> => {
      const d = await tc.client.workflow.getHandle(domainWorkflowId(RUN, 'math')).describe();
      const a = d.raw.pendingActivities?.find((p) => p.activityType?.name === 'ensureDecontamination');
      if (!a) return undefined;
      const payload = a.heartbeatDetails?.payloads?.[0];
      return { cursor: payload ? defaultPayloadConverter.fromPayload<JobCursor>(payload) : undefined, attempt: a.attempt ?? 1 };
    };

    worker = start();
    // Killed once the server holds a cursor past the first batches and well short of the end.
    let seen: JobCursor | undefined;
    await waitFor(async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode})`);
      seen = (await serverCursor())?.cursor;
      return seen !== undefined && seen.done >= 2 * LIMIT && seen.done < QUESTIONS - 4 * LIMIT;
    }, 120_000);
    const killedAt = server.requests.length;
    await killHard(worker);
    // What the retry will read: the last heartbeat that reached the server (at or past `seen`).
    const atKill = (await serverCursor())?.cursor;
    worker = start();
    const result = await h.result();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');

    const benchmarkBatches = (rs: RecordedRequest[]) =>
      rs.filter((r) => r.path.endsWith('/embeddings') && (r.body.input as string[]).every((t) => index.has(t))).map((r) => r.body.input as string[]);
    const before = benchmarkBatches(server.requests.slice(0, killedAt));
    const after = benchmarkBatches(server.requests.slice(killedAt));

    // The restarted attempt opened at the cursor with the learned size, not at 256 from the start;
    // where it skipped ahead, those texts had landed after the last heartbeat reached the server.
    expect(atKill!.done).toBeGreaterThanOrEqual(seen!.done);
    expect(atKill!.batch).toBeLessThanOrEqual(LIMIT);
    expect(after[0]!.length).toBeLessThanOrEqual(atKill!.batch);
    const opened = index.get(after[0]![0]!)!;
    expect(opened).toBeGreaterThanOrEqual(atKill!.done);
    const answeredBefore = new Set(before.filter((b) => b.length <= LIMIT).flat());
    expect(texts.slice(atKill!.done, opened).every((t) => answeredBefore.has(t))).toBe(true);
    expect(after.filter((b) => b.length > LIMIT).length).toBeLessThan(before.filter((b) => b.length > LIMIT).length);

    // Every question was answered; the only texts answered twice are those of the batch in flight at the kill.
    const answered = [...before, ...after].filter((b) => b.length <= LIMIT).flat();
    expect(new Set(answered)).toEqual(new Set(texts));
    const twice = answered.length - texts.length;
    expect(twice).toBeLessThanOrEqual(LIMIT);
    if (twice > 0) {
      const inFlight = before.at(-1)!;
      expect(answered.filter((t, i) => answered.indexOf(t) !== i).every((t) => inFlight.includes(t))).toBe(true);
    }
    const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
    try {
      expect(await store.count(collectionName('decontam', 'gsm8k', 'openai:embed'))).toBe(QUESTIONS);
    } finally {
      await store.close();
    }
    console.info(
      `decontamination resume: killed at cursor ${JSON.stringify(seen)}; server's cursor at the kill ${JSON.stringify(atKill)}; ` +
        `requests before the kill ${before.map((b) => b.length).join(',')}; after ${after.map((b) => b.length).join(',')}; texts answered twice ${twice}`,
    );
    const last = worker;
    worker = undefined;
    last.kill('SIGTERM');
    await new Promise((r) => last.once('exit', r));
  }, 300_000);
});
