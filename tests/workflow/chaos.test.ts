import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildActivityDeps } from '../../activities/deps.js';
import { Ledger } from '../../activities/store/ledger.js';
import { createStoreActivities } from '../../activities/store/activities.js';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import type { TrainingExample } from '../../common/contracts/index.js';
import { TaskQueue } from '../../common/task-queues.js';
import { readEnv } from '../../common/env.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { expectOneSetOfExamples } from '../support/fault-script.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';
import { mulberry32 as prng } from '../support/prng.js';

/**
 * Chaos: one real run (the real worker process, the scripted OpenAI-compatible server) whose worker
 * is SIGKILLed five times at moments drawn from a seeded PRNG, and restarted after each. The kill
 * points are spread over phases: a random moment while model calls are going on, right after an
 * example lands in the vector store (before its episode is recorded), right after an accepted
 * episode lands in the ledger, and a random moment after a restart (mid start-up, replay, or while
 * the dead worker's activities wait out their heartbeat timeout). Afterwards: the run completes with
 * its target; store ≡ status ≡ export ≡ ledger, each example once; no episode failed; a store of an
 * example again, or of its question under another key, is refused.
 *
 * The seed is printed; `NANOFLUX_CHAOS_SEED=<seed>` replays the same kill plan (the interleaving of
 * the run itself still varies with the machine).
 */

// The scripted models' key, for the store activities this test calls itself (the worker process gets it from startWorkerProcess).
process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-chaos';
const RUN = 'chaos';
const TARGET = 8;
/** Every model call takes this long, so a kill at a random moment usually lands mid-call. */
const CALL_DELAY_MS = 300;

const SEED = readEnv().chaosSeed ?? randomInt(1, 2 ** 31);

/**
 * - `mid-call`: `delayMs` after the (re)started worker's first model call, at the first moment a call is in flight;
 * - `after-store`: as soon as a new example is in the vector store (the store/record window);
 * - `after-accepted`: as soon as a new accepted episode is in the ledger;
 * - `any-time`: `delayMs` after the restart, whatever the worker is doing.
 */
type Trigger = 'mid-call' | 'after-store' | 'after-accepted' | 'any-time';
interface PlannedKill {
  trigger: Trigger;
  delayMs: number;
}

function killPlan(random: () => number): PlannedKill[] {
  const triggers: Trigger[] = ['mid-call', 'mid-call', 'after-store', 'after-accepted', 'any-time'];
  for (let i = triggers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [triggers[i], triggers[j]] = [triggers[j]!, triggers[i]!];
  }
  return triggers.map((trigger) => ({
    trigger,
    delayMs: trigger === 'mid-call' ? Math.floor(random() * 2500) : trigger === 'any-time' ? 1000 + Math.floor(random() * 8000) : 0,
  }));
}

interface KillRecord extends PlannedKill {
  /** ms since the run started. */
  atMs: number;
  /** ms since this worker process was started. */
  workerAgeMs: number;
  /** Model calls the server was still answering when the worker died, by role. */
  inFlight: string;
  stored: number;
  recorded: number;
  acceptedInLedger: number;
}

describe('chaos: the worker SIGKILLed at random moments, several times in one run', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const home = tempHome();
  let worker: ChildProcess | undefined;
  let workerOutput: string[] = [];

  const start = () => {
    const out: string[] = [];
    workerOutput = out;
    worker = startWorkerProcess(NS, home, {}, (text) => {
      out.push(text);
      if (out.length > 200) out.shift();
    });
    return { process: worker, startedAt: Date.now() };
  };

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('completes with its target; the store, status, export and ledger hold one set of examples, each once', async () => {
    const plan = killPlan(prng(SEED));
    console.info(`chaos seed ${SEED} (replay: NANOFLUX_CHAOS_SEED=${SEED} npx vitest run tests/workflow/chaos.test.ts); plan: ${plan.map((k) => `${k.trigger}${k.delayMs ? `+${k.delayMs}ms` : ''}`).join(', ')}`);

    scriptGame(server, { delayMs: CALL_DELAY_MS, defenderRight: (_q, n) => n % 2 === 0 });
    const config = testConfig(server.baseURL, RUN, { generation: { targetAccepted: TARGET, maxEpisodes: 100, concurrency: 3 } });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(RUN), args: [config] });
    const runStarted = Date.now();
    let runDone = false;
    const result = h.result().finally(() => (runDone = true));
    result.catch(() => undefined); // awaited below; a failure must not go unhandled while the kills go on

    // Read beside the worker (both files are WAL): what has landed, for the triggers and the kill log.
    const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
    const ledger = new Ledger(join(home, 'ledger.sqlite'));
    const collection = collectionName('examples', 'math', 'openai:embed');
    const landed = async () => {
      const episodes = ledger.episodes(RUN);
      return { stored: await store.count(collection, { runId: RUN }), recorded: episodes.length, accepted: episodes.filter((e) => e.summary.outcome === 'accepted').length };
    };

    /** The model calls the scripted server was answering at `t` (each takes CALL_DELAY_MS). */
    const inFlightAt = (t: number) => server.chatRequests().filter((r) => r.at <= t && r.at > t - CALL_DELAY_MS);

    const kills: KillRecord[] = [];
    try {
      let w = start();
      for (const [i, k] of plan.entries()) {
        const alive = () => {
          if (w.process.exitCode !== null) throw new Error(`worker exited on its own (${w.process.exitCode}): ${workerOutput.join('').slice(-2000)}`);
          if (runDone) throw new Error(`the run finished after only ${i} of ${plan.length} kills: raise TARGET`);
        };
        const before = await landed();
        if (k.trigger === 'mid-call' || k.trigger === 'any-time') {
          if (k.trigger === 'mid-call') {
            const seen = server.chatRequests().length;
            await pollFast(`kill ${i + 1}: the worker's first model call`, async () => (alive(), server.chatRequests().slice(seen).some((r) => r.at >= w.startedAt)), 60_000);
          }
          const until = (k.trigger === 'mid-call' ? Date.now() : w.startedAt) + k.delayMs;
          await pollFast(`kill ${i + 1}: its moment`, async () => (alive(), Date.now() >= until), 60_000);
          // Then, for mid-call, the first moment a model call is being answered (it arrived less than the call delay ago).
          if (k.trigger === 'mid-call') await pollFast(`kill ${i + 1}: a model call in flight`, async () => (alive(), inFlightAt(Date.now() - 50).length > 0), 60_000);
        } else {
          await pollFast(`kill ${i + 1}: ${describeTrigger(k)}`, async () => {
            alive();
            const now = await landed();
            return k.trigger === 'after-store' ? now.stored > before.stored : now.accepted > before.accepted;
          }, 60_000);
        }
        alive();
        const killedAt = Date.now();
        await killHard(w.process);
        const now = await landed();
        const calls = inFlightAt(killedAt);
        const byRole = calls.reduce<Record<string, number>>((m, r) => ((m[r.role] = (m[r.role] ?? 0) + 1), m), {});
        const record: KillRecord = {
          ...k,
          atMs: killedAt - runStarted,
          workerAgeMs: killedAt - w.startedAt,
          inFlight: calls.length ? Object.entries(byRole).map(([r, n]) => `${r}×${n}`).join(' ') : 'none',
          stored: now.stored,
          recorded: now.recorded,
          acceptedInLedger: now.accepted,
        };
        kills.push(record);
        console.info(`chaos kill ${i + 1}/${plan.length} at ${(record.atMs / 1000).toFixed(1)} s (worker age ${(record.workerAgeMs / 1000).toFixed(1)} s), ${describeTrigger(k)}: model calls in flight ${record.inFlight}; stored ${record.stored}, episodes recorded ${record.recorded} (${record.acceptedInLedger} accepted)`);
        w = start();
      }

      const { status } = await result;
      const seconds = (Date.now() - runStarted) / 1000;
      await stopGracefully(w.process);
      worker = undefined;

      // The run completed with its target.
      const d = status.domains.math!;
      expect(d.stopReason).toBe('target_reached');
      expect(d.accepted).toBeGreaterThanOrEqual(TARGET);
      expect(kills).toHaveLength(plan.length);

      const deps = buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
      try {
        // Store ≡ status ≡ export ≡ ledger, each example exactly once; every finished episode recorded once.
        const { ids } = await expectOneSetOfExamples(deps, RUN, status);

        // No episode failed: the game has no failing move, so a failure could only be the kills'.
        const episodes = deps.ledger.episodes(RUN);
        expect(episodes.filter((e) => e.summary.outcome === 'failed').map((e) => `${e.workflowId}: ${e.summary.error}`)).toEqual([]);
        expect(d.rejected.failed).toBe(0);
        // Every episode workflow ran once, and completed (none failed, timed out or was terminated and redone).
        const runs = await episodeRuns(tc.client, d.episodesFinished);
        expect(runs.map((r) => r.workflowId).sort()).toEqual(episodes.map((e) => e.workflowId).sort());
        expect(runs.filter((r) => r.status !== 'COMPLETED')).toEqual([]);

        // The kills landed mid-activity: some activities were retried after their worker died.
        const retried = await retriedActivities(tc.client, episodes.map((e) => e.workflowId));
        const retriedText = Object.entries(retried).map(([t, n]) => `${t}×${n}`).join(', ') || 'none';
        expect(Object.values(retried).reduce((a, b) => a + b, 0), 'no activity was ever retried: no kill landed mid-activity').toBeGreaterThan(0);

        // Duplicate stores are refused: each stored example again (a retry after the write landed)
        // adds nothing; its question under another episode's key is a duplicate of it.
        const store2 = createStoreActivities(deps);
        const points = await deps.store.list(collection, { runId: RUN });
        for (const p of points) {
          const { runId: _r, ...example } = p.payload as unknown as TrainingExample & { runId: string };
          const again = await store2.storeExample({ example, embedding: config.models.embedding, threshold: 0.85 });
          expect(again).toEqual({ id: pointId(example.id) });
          const copy = { ...example, id: `${RUN}/math/copy-of-${example.provenance.episode}` };
          const refused = await store2.storeExample({ example: copy, embedding: config.models.embedding, threshold: 0.85 });
          expect(refused.duplicateOf?.id).toBe(example.id);
          expect(refused.duplicateOf!.score).toBeGreaterThan(0.99);
        }
        expect(await deps.store.count(collection)).toBe(ids.length);

        console.info(
          `chaos seed ${SEED}: ${kills.length} kills at ${kills.map((k) => `${(k.atMs / 1000).toFixed(1)}s`).join(', ')}; ` +
            `run done in ${seconds.toFixed(1)} s: ${d.accepted} accepted of ${d.episodesFinished} episodes; activities retried: ${retriedText}`,
        );
      } finally {
        await deps.close();
      }
    } catch (e) {
      console.error(`chaos seed ${SEED} FAILED; kills so far: ${JSON.stringify(kills)}`);
      throw e;
    } finally {
      ledger.close();
      await store.close();
    }
  }, 180_000);
});

function describeTrigger(k: PlannedKill): string {
  switch (k.trigger) {
    case 'mid-call':
      return `${k.delayMs} ms after the worker's first model call, mid-call`;
    case 'any-time':
      return `${k.delayMs} ms after the worker started`;
    case 'after-store':
      return 'right after a new example landed in the vector store';
    case 'after-accepted':
      return 'right after a new accepted episode landed in the ledger';
  }
}

/** Like waitFor, but polling every 20 ms (the store/record window is short), and any error ends the wait (a dead worker, a finished run). */
async function pollFast(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopGracefully(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await gone;
}

/** The run's episode workflows as the server lists them (visibility lags a little: waits for `expected`). */
async function episodeRuns(client: TestClient['client'], expected: number): Promise<{ workflowId: string; status: string }[]> {
  let runs: { workflowId: string; status: string }[] = [];
  await waitFor(async () => {
    runs = [];
    for await (const w of client.workflow.list({ query: `NanofluxRunId = "${RUN}" AND NanofluxKind = "episode"` })) runs.push({ workflowId: w.workflowId, status: w.status.name });
    return runs.length >= expected && runs.every((r) => r.status !== 'RUNNING');
  }, 15_000).catch(() => undefined); // what was listed is compared below
  return runs;
}

/** Activities that needed more than one attempt, by type, over these workflows' histories. */
async function retriedActivities(client: TestClient['client'], workflowIds: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const id of workflowIds) {
    const { events } = await client.workflow.getHandle(id).fetchHistory();
    const types = new Map<string, string>();
    for (const e of events ?? []) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        const t = types.get(String(started.scheduledEventId)) ?? '?';
        counts[t] = (counts[t] ?? 0) + 1;
      }
    }
  }
  return counts;
}
