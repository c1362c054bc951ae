import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttackSchema, DefenseSchema, VerdictSchema } from '../../common/game.js';
import { TaskQueue } from '../../common/queues.js';
import type { EpisodeInput } from '../../common/contracts/index.js';
import type { episodeWorkflow } from '../../workflows/episode.js';
import { episodeWorkflowId } from '../../workflows/logic/ids.js';
import { startTestWorkers, testClient } from '../support/workers.js';

const NS = 'wf-local';

describe('the embedded model plays an episode', () => {
  let workers: Awaited<ReturnType<typeof startTestWorkers>>;
  let tc: Awaited<ReturnType<typeof testClient>>;

  beforeAll(async () => {
    workers = await startTestWorkers(NS);
    tc = await testClient(NS);
  });
  afterAll(async () => {
    await tc?.close();
    await workers?.stop();
  });

  it('SmolLM2 attacks, defends and judges with schema-valid answers, end to end', async () => {
    const local = { provider: 'local' as const, model: 'smollm2-135m' };
    const input: EpisodeInput = {
      runId: 'local',
      domain: { name: 'math', brief: 'Grade-school math word problems.', benchmark: 'none', pack: 'math', promptVersion: 'v1' },
      episode: 0,
      topic: 'percentages',
      attackerSlot: 'a',
      models: { attacker: local, defender: { ...local, temperature: 0.7 }, judge: local, embedding: { provider: 'local', model: 'use-lite' } },
      targetComplexity: 2,
      targetHops: 2,
      defenderProfile: '(no scored episodes yet)',
      noveltyThreshold: 0.85,
      maxSchemaRetries: 3,
    };
    const workflowId = episodeWorkflowId('local', 'math', 0);
    const summary = await tc.client.workflow.execute<typeof episodeWorkflow>('episodeWorkflow', { taskQueue: TaskQueue.main, workflowId, args: [input] });
    expect(summary.error).toBeUndefined();
    expect(['accepted', 'defender_correct', 'invalid_question', 'reference_wrong']).toContain(summary.outcome);
    expect(summary.tokens.attacker).toBeGreaterThan(0);
    expect(summary.tokens.defender).toBeGreaterThan(0);
    expect(summary.tokens.judge).toBeGreaterThan(0);

    const [record] = workers.deps.ledger.episodes('local');
    const t = record!.transcript as { attack: unknown; defenses: unknown[]; verdict: { defendersCorrect: boolean[] } };
    expect(AttackSchema.safeParse(t.attack).success).toBe(true);
    expect(t.defenses).toHaveLength(1);
    expect(DefenseSchema.safeParse(t.defenses[0]).success).toBe(true);
    const { defendersCorrect, ...verdict } = t.verdict;
    expect(defendersCorrect).toHaveLength(1);
    expect(VerdictSchema.safeParse({ ...verdict, defenderCorrect: defendersCorrect[0] }).success).toBe(true);
  }, 300_000);
});
