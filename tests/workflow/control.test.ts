import { describe, expect, it } from 'vitest';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { TaskQueue } from '../../common/task-queues.js';
import { domainWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import { domainStatusQuery, pauseSignal, resumeSignal, type RunStatus, setConcurrencyUpdate, statusQuery, stopSignal } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { until, useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-control';

describe('operating a run: pause, resume, concurrency, stop, continue-as-new', () => {
  const f = useGameFixture(NS);

  it('pauses, resumes, changes concurrency and stops on signal', async () => {
    scriptGame(f.server, { delayMs: 100, defenderRight: () => true });
    const config = testConfig(f.server.baseURL, 'control', { generation: { targetAccepted: 1000, maxEpisodes: 1000, concurrency: 2 } });
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('control'), args: [config] });
    const status = () => h.query(statusQuery);

    await until(status, (s) => (s.domains.math?.episodesFinished ?? 0) >= 2);
    await h.signal(pauseSignal);
    const paused = await until(status, (s) => s.domains.math?.stage === 'paused' && s.domains.math.inFlight === 0);
    const startedWhilePaused = paused.domains.math!.episodesStarted;
    await new Promise((r) => setTimeout(r, 1500));
    const domain = f.tc.client.workflow.getHandle(domainWorkflowId('control', 'math'));
    expect((await domain.query(domainStatusQuery)).episodesStarted).toBe(startedWhilePaused);

    const r = await h.executeUpdate(setConcurrencyUpdate, { args: [{ concurrency: 3 }] });
    expect(r.concurrency).toBe(3);
    const refused = await h.executeUpdate(setConcurrencyUpdate, { args: [{ concurrency: 0 }] }).catch((e: Error) => e);
    expect(String(((refused as Error).cause as Error | undefined)?.message)).toMatch(/concurrency must be an integer/);
    await until(() => domain.query(domainStatusQuery), (s) => s.concurrency === 3);

    await h.signal(resumeSignal);
    await until(status, (s) => (s.domains.math?.episodesStarted ?? 0) > startedWhilePaused + 2);

    await h.signal(stopSignal);
    const result = await h.result();
    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('stopped');
    expect(d.inFlight).toBe(0);
    expect(d.episodesFinished).toBe(d.episodesStarted);
    expect(f.workers.deps.ledger.episodes('control')).toHaveLength(d.episodesFinished);
  });

  it('a run paused before its loops start begins paused, and runs once resumed', async () => {
    scriptGame(f.server);
    const config = testConfig(f.server.baseURL, 'early-pause', { generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 } });
    const h = await f.tc.client.workflow.signalWithStart<typeof nanofluxRun, []>('nanofluxRun', {
      taskQueue: TaskQueue.main,
      workflowId: runWorkflowId('early-pause'),
      args: [config],
      signal: pauseSignal,
      signalArgs: [],
    });
    const domain = f.tc.client.workflow.getHandle(domainWorkflowId('early-pause', 'math'));
    const paused = await until(() => domain.query(domainStatusQuery), (s) => s.stage === 'paused');
    expect(paused.episodesStarted).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await domain.query(domainStatusQuery)).episodesStarted).toBe(0);
    expect((await h.query(statusQuery)).stage).toBe('paused');
    await h.signal(resumeSignal);
    const result = await h.result();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
  });

  it('continues as new without losing or repeating an episode', async () => {
    scriptGame(f.server, { defenderRight: (_q, n) => n % 3 !== 0 });
    const config = testConfig(f.server.baseURL, 'can', { generation: { targetAccepted: 5, maxEpisodes: 200, concurrency: 2, continueAsNewEvery: 3 } });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('can'), args: [config] });
    const d = result.status.domains.math!;
    expect(d.generation).toBeGreaterThanOrEqual(2);
    expect(d.accepted).toBeGreaterThanOrEqual(5);
    const episodes = f.workers.deps.ledger.episodes('can').map((e) => e.episode);
    expect(episodes).toEqual(Array.from({ length: d.episodesFinished }, (_, i) => i));
    const stored = await f.workers.deps.store.count(collectionName('examples', 'math', 'openai:embed'), { runId: 'can' });
    expect(stored).toBe(d.accepted);
    expect(result.status.dataset!.examples).toBe(d.accepted);
    // The run's own status saw every episode, across all the loop's runs.
    const s: RunStatus = result.status;
    expect(s.episodes).toBe(d.episodesFinished);
  });
});
