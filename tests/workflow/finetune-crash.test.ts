import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finetuneDir } from '../../activities/stages/layout.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId, variantWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-finetune-crash';

/** Every episode wins with a distinct sum, so the dataset is exactly `targetAccepted` examples. */
function scriptSums(server: ScriptedOpenAI): void {
  let n = 0;
  server.script((req) => {
    if (req.role === 'attacker') {
      const i = n++;
      return { json: { question: `What is ${100 + i} + ${7 * i}?`, referenceAnswer: String(100 + 8 * i), solutionSteps: [`${100 + i} + ${7 * i} = ${100 + 8 * i}.`], skill: 'addition', annotation: 'Line up the digits.' } };
    }
    if (req.role === 'defender') return { json: { reasoning: 'Guessing.', answer: '0' } };
    return { json: { questionValid: true, referenceCorrect: true, defenderCorrect: false, complexity: 2, hops: 1, quality: 4, explanation: 'Recomputed.' } };
  });
}

describe('a worker SIGKILLed during fine-tuning', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const home = tempHome();
  let worker: ChildProcess | undefined;

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('resumes the same training from its last checkpoint: no second job, no restart from zero', async () => {
    scriptSums(server);
    const config = testConfig(server.baseURL, 'ft-crash', {
      generation: { targetAccepted: 40, maxEpisodes: 60, concurrency: 1, noveltyThreshold: 1 },
      finetune: { backend: 'local', baseModel: 'smollm2-135m', epochs: 1, batchSize: 2, saveEvery: 2 },
    });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('ft-crash'), args: [config] });
    const out = finetuneDir(home, 'ft-crash', 'math', 'tuned');
    const checkpoints = () => (existsSync(out) ? readdirSync(out).filter((d) => /^checkpoint-\d+$/.test(d)) : []);

    worker = startWorkerProcess(NS, home);
    await waitFor(async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode})`);
      return checkpoints().some((d) => Number(d.split('-')[1]) >= 4);
    }, 300_000);
    await killHard(worker);
    const stepsBeforeKill = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    worker = startWorkerProcess(NS, home);

    const result = await h.result();
    const train = result.stages![0]!.outcomes.find((o) => o.variant === 'tuned')!.train!;
    // One training, carried across the crash: it resumed from a checkpoint taken after the kill point's last save.
    expect(train.resumedFrom).toMatch(/checkpoint-\d+$/);
    const resumedAt = Number(/checkpoint-(\d+)$/.exec(train.resumedFrom!)![1]);
    expect(resumedAt).toBeGreaterThanOrEqual(4);
    expect(resumedAt).toBeGreaterThanOrEqual(stepsBeforeKill - 2);
    expect(train.steps).toBe(20);
    // The loss curve holds every step exactly once: the steps after the checkpoint were redone, none were doubled.
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { resumed_from: string; steps: number };
    expect(summary.resumed_from).toBe(train.resumedFrom);
    // In the variant's history: one fineTune activity, scheduled once, completed by a retry (attempt ≥ 2).
    const history = await tc.client.workflow.getHandle(variantWorkflowId('ft-crash', 'math', 'tuned')).fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fineTune');
    expect(scheduled).toHaveLength(1);
    const started = history.events!.find((e) => e.activityTaskStartedEventAttributes && e.eventId && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(scheduled[0]!.eventId));
    expect(started!.activityTaskStartedEventAttributes!.attempt).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
