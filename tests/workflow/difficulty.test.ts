import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';

describe('difficulty signals on a real dev server', () => {
  const f = useGameFixture('wf-difficulty');

  it('solve-rate mode: k Defender samples, accepted only inside the band', async () => {
    // Of every three samples, the first is right: solve rate 1/3 → inside [0.3, 0.7].
    scriptGame(f.server, { defenderRight: (_q, n) => n % 3 === 0 });
    const config = testConfig(f.server.baseURL, 'solve-rate', {
      generation: { targetAccepted: 2, maxEpisodes: 10, concurrency: 1, solveRate: { samples: 3, min: 0.3, max: 0.7 } },
    });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('solve-rate'), args: [config] });
    expect(result.status.domains.math!.accepted).toBe(2);
    const episodes = f.workers.deps.ledger.episodes('solve-rate');
    for (const e of episodes) {
      expect((e.transcript as { defenses: unknown[] }).defenses).toHaveLength(3);
      expect(e.summary.scores?.solveRate).toBeCloseTo(1 / 3);
    }
    const judgeRequests = f.server.chatRequests().filter((r) => r.role === 'judge');
    expect(JSON.stringify(judgeRequests[0]!.body.messages)).toContain('DEFENDER_3_ANSWER');
  });

  it('the adaptive controller raises the target complexity until a scripted Defender fails at the target rate', async () => {
    // This Defender fails only from complexity 4 up, so the Attacker wins only there.
    scriptGame(f.server, { defenderRight: (q) => Number(/\[c=(\d)\]/.exec(q)?.[1] ?? 0) < 4 });
    const config = testConfig(f.server.baseURL, 'adaptive', {
      generation: {
        targetAccepted: 4,
        maxEpisodes: 40,
        concurrency: 1,
        targetComplexity: 1,
        adaptiveComplexity: { targetWinRate: 0.5, window: 3, tolerance: 0.1 },
      },
    });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('adaptive'), args: [config] });
    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    const targets = f.workers.deps.ledger.episodes('adaptive').map((e) => e.summary.targetComplexity);
    // Each episode records the target it was given: 1,1,1, then 2,2,2, 3,3,3, then 4 where it wins.
    expect(targets.slice(0, 9)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(targets.at(-1)).toBeGreaterThanOrEqual(4);
    expect(d.targetComplexity).toBeGreaterThanOrEqual(4);
  });
});
