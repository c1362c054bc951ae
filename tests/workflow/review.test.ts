import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { reviewQuery, reviewSignal } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-review';

describe('review mode: accepted examples wait for a human decision', () => {
  const f = useGameFixture(NS);

  /** Episode workflows of a run awaiting review, found the way `nanoflux review` finds them: by search attributes. */
  async function awaitingReview(runId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const w of f.tc.client.workflow.list({ query: `NanofluxRunId="${runId}" AND NanofluxKind="episode" AND NanofluxStage="review" AND ExecutionStatus="Running"` })) ids.push(w.workflowId);
    return ids;
  }

  it('stores approved examples only; rejected ones are recorded as rejected_in_review', async () => {
    scriptGame(f.server);
    const config = testConfig(f.server.baseURL, 'review', { generation: { targetAccepted: 2, maxEpisodes: 40, concurrency: 1, review: { timeoutSeconds: 3600, onTimeout: 'reject' } } });
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('review'), args: [config] });
    const decided = new Map<string, boolean>();
    const deadline = Date.now() + 90_000;
    let approve = false;
    while ((await h.describe()).status.name === 'RUNNING') {
      if (Date.now() > deadline) throw new Error('review run did not finish');
      for (const id of await awaitingReview('review')) {
        if (decided.has(id)) continue;
        const item = await f.tc.client.workflow.getHandle(id).query(reviewQuery);
        if (!item) continue; // decided a moment ago; visibility lags
        expect(item.question).toMatch(/^Question \d+/);
        expect(item.answer).toBe('42');
        expect(item.onTimeout).toBe('reject');
        // Alternate: reject the first, approve the next, …
        await f.tc.client.workflow.getHandle(id).signal(reviewSignal, { approve, reviewer: 'ana', note: approve ? 'fine' : 'too easy' });
        decided.set(id, approve);
        approve = !approve;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const result = await h.result();
    const approved = [...decided].filter(([, a]) => a).map(([id]) => id);
    const rejected = [...decided].filter(([, a]) => !a).map(([id]) => id);
    expect(approved).toHaveLength(2);
    expect(rejected.length).toBeGreaterThanOrEqual(2);
    expect(result.status.domains.math!.accepted).toBe(2);
    expect(result.status.domains.math!.rejected.rejected_in_review).toBe(rejected.length);
    // Only the approved examples were stored and exported.
    const exported = readFileSync(`${f.workers.home}/runs/review/examples.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).provenance.workflowId as string);
    expect(exported.sort()).toEqual(approved.sort());
    const episodes = f.workers.deps.ledger.episodes('review');
    for (const id of rejected) {
      const e = episodes.find((x) => x.workflowId === id)!;
      expect(e.summary.outcome).toBe('rejected_in_review');
      expect(e.summary.review).toEqual({ approve: false, reviewer: 'ana', note: 'too easy' });
    }
  }, 120_000);

  it('applies the timeout policy to an example nobody reviews', async () => {
    scriptGame(f.server);
    const config = testConfig(f.server.baseURL, 'review-timeout', { generation: { targetAccepted: 1, maxEpisodes: 20, concurrency: 1, review: { timeoutSeconds: 2, onTimeout: 'approve' } } });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('review-timeout'), args: [config] });
    expect(result.status.domains.math!.accepted).toBe(1);
    const accepted = f.workers.deps.ledger.episodes('review-timeout').filter((e) => e.summary.outcome === 'accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.summary.review).toEqual({ approve: true, reviewer: 'timeout' });
  }, 60_000);
});
