import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefenseSchema, MathAttackSchema, VerdictSchema } from '../../common/game.js';
import { TaskQueue } from '../../common/task-queues.js';
import { type EpisodeInput, JUNK_REASONS, type Outcome } from '../../common/contracts/index.js';
import type { Attack, Defense, JudgeVerdict, Verification } from '../../common/contracts/index.js';
import type { episodeWorkflow } from '../../workflows/episode.js';
import { episodeWorkflowId } from '../../workflows/logic/ids.js';
import { startTestWorkers, testClient } from '../support/workers.js';

const NS = 'wf-local';

/**
 * With the verified gate (workflows/episode.ts) a math attack can lose before the Defender is
 * called: junk, a duplicate, or a program that does not print the stated answer. What gets past
 * that has had its reference confirmed by its program, so the Judge cannot call it wrong.
 */
const ENDS_EARLY: readonly Outcome[] = [...JUNK_REASONS, 'duplicate', 'reference_unverified', 'reference_wrong'];
const JUDGED: readonly Outcome[] = ['accepted', 'defender_correct', 'invalid_question'];

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

  it('SmolLM2 plays a gated math episode: a schema-valid attack with a program, then either an early rejection that spends nothing more, or a defense and a verdict', async () => {
    const local = { provider: 'local' as const, model: 'smollm2-135m' };
    const input: EpisodeInput = {
      runId: 'local',
      domain: { name: 'math', brief: 'Short arithmetic word problems with small whole numbers, in one or two steps.', benchmark: 'none', pack: 'math', promptVersion: 'v1' },
      episode: 0,
      topic: 'buying several items at one price',
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
    expect([...ENDS_EARLY, ...JUDGED]).toContain(summary.outcome);
    expect(summary.tokens.attacker).toBeGreaterThan(0);

    const [record] = workers.deps.ledger.episodes('local');
    expect(record!.summary.outcome).toBe(summary.outcome);
    const t = record!.transcript as { attack: Attack; defenses?: Defense[]; verdict?: JudgeVerdict; verification?: Verification; rejection?: string };
    // Pack math: the grammar and the schema make the embedded model write a program too.
    expect(MathAttackSchema.safeParse(t.attack).success).toBe(true);

    if (ENDS_EARLY.includes(summary.outcome)) {
      // Lost before the Defender: no Defender or Judge token spent, and the reason is said.
      expect(summary.tokens.defender).toBe(0);
      expect(summary.tokens.judge).toBe(0);
      expect(t.defenses).toBeUndefined();
      expect(t.verdict).toBeUndefined();
      if (summary.outcome === 'duplicate') expect(summary.nearest).toBeDefined();
      else {
        expect(summary.rejection).toMatch(/\S/);
        expect(t.rejection).toMatch(/\S/);
      }
      if (summary.outcome === 'reference_wrong' || summary.outcome === 'reference_unverified') {
        // The executed check ran the program and says what it printed (or why it failed).
        expect(t.verification?.method).toBe('program');
        expect(t.verification?.referenceVerified).toBe(false);
        expect(t.verification?.program?.code).toBe(t.attack.program!.trim());
      }
      return;
    }

    // Past the gate: the program printed the stated answer, then the Defender and the Judge played.
    expect(t.verification?.method).toBe('program');
    expect(t.verification?.referenceVerified).toBe(true);
    expect(summary.tokens.defender).toBeGreaterThan(0);
    expect(summary.tokens.judge).toBeGreaterThan(0);
    expect(t.defenses).toHaveLength(1);
    expect(DefenseSchema.safeParse(t.defenses![0]).success).toBe(true);
    const { defendersCorrect, ...verdict } = t.verdict!;
    expect(defendersCorrect).toHaveLength(1);
    expect(VerdictSchema.safeParse({ ...verdict, defenderCorrect: defendersCorrect[0] }).success).toBe(true);
  }, 300_000);
});
