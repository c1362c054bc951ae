import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { paperReportLines } from '../../scripts/lib/paper-report.js';
import { testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI, ScriptedResponse } from '../support/scripted-openai.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-paper-shape';
const dir = mkdtempSync(join(tmpdir(), 'nanoflux-paper-shape-'));

/** GSM8K's first test items and their answers: the evaluation's scripted models are right on a pattern of them. */
const GSM8K = readFileSync(join(PROJECT_ROOT, 'datasets', 'gsm8k', 'test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .slice(0, 30)
  .map((l) => JSON.parse(l) as { question: string; answer: string })
  .map((r, i) => ({ i, question: r.question, answer: r.answer.split('####').at(-1)!.trim().replace(/,/g, '') }));

/** Which eval items each served model answers right: base few, tuned more, full-train between, the cuts by level. */
const RIGHT: Record<string, (i: number) => boolean> = {
  'served-base': (i) => i % 5 === 0,
  'served-tuned': (i) => i % 5 === 0 || i % 2 === 1,
  'served-full': (i) => i % 5 === 0 || i % 3 === 1,
  'served-c2': (i) => i % 5 === 0 || i % 4 === 1,
  'served-c3': (i) => i % 5 === 0 || i % 2 === 1 || i % 7 === 2,
};

/**
 * The game: unique questions, a Defender always wrong, a Judge whose complexity and quality alternate
 * by question (two levels each for the cuts). Evaluation prompts go to the served model names.
 */
function scriptPaperShape(server: ScriptedOpenAI): void {
  let n = 0;
  server.script((req): ScriptedResponse => {
    if (req.role === 'attacker') {
      const i = n++;
      return { json: { question: `Question ${i}: a ledger holds ${100 + i} coins, gains ${i % 9 + 2} and loses 1; how many coins now?`, referenceAnswer: String(101 + i + (i % 9)), solutionSteps: ['Add the gain.', 'Subtract the loss.'], skill: 'running totals', annotation: 'The loss applies after the gain.' } };
    }
    if (req.role === 'defender') return { json: { reasoning: 'Guessing.', answer: '0' } };
    if (req.role === 'judge') {
      const i = Number(/Question (\d+):/.exec(JSON.stringify(req.messages))?.[1]);
      const c = i % 2 === 0 ? 2 : 3;
      return { json: { questionValid: true, referenceCorrect: true, defenderCorrect: false, complexity: c, hops: c, quality: c === 3 ? 4.2 : 3.1, explanation: 'Recomputed.' } };
    }
    const prompt = String(req.messages.at(-1)?.content ?? '');
    const item = GSM8K.find((g) => prompt.startsWith(g.question));
    const right = item && RIGHT[req.model]?.(item.i);
    return { content: `Step by step.\nAnswer: ${right ? item.answer : '-1'}`, usage: { prompt_tokens: 120, completion_tokens: 30 } };
  });
}

/** A command-backend trainer that writes an adapter and a summary with its tokens, loss and hardware. */
function trainerScript(): string {
  const script = join(dir, 'trainer.sh');
  writeFileSync(
    script,
    `#!/bin/sh\nmkdir -p "$1"\necho '{}' > "$1/adapter_config.json"\nn=$(wc -l < "$2")\necho "{\\"train_tokens\\": $((n * 90)), \\"steps\\": $n, \\"first_loss\\": 2.5, \\"last_loss\\": 1.5, \\"hardware\\": {\\"kind\\": \\"cuda\\", \\"name\\": \\"Test GPU\\", \\"devices\\": 1, \\"visible\\": 1}}" > "$1/summary.json"\nsleep 1\n`,
    { mode: 0o755 },
  );
  return script;
}

describe('a paper-shaped run', () => {
  const f = useGameFixture(NS);

  it('reaches a report whose tables carry paired tests, seeds, size-matched cuts and the whole compute of NanoFlux and the full-train baseline', async () => {
    scriptPaperShape(f.server);
    const price = { inputPerMillion: 2, outputPerMillion: 8 };
    const base = testConfig(f.server.baseURL, 'paper-shape', {
      domains: [{ name: 'math', brief: 'Running totals.', topics: ['ledgers'], benchmark: 'gsm8k', baselines: [{ name: 'full-train', data: join(PROJECT_ROOT, 'datasets', 'gsm8k', 'train.jsonl'), format: 'gsm8k', limit: 40 }] }],
      // One episode at a time: exactly 16 accepted (every episode wins), 8 per complexity level.
      generation: { targetAccepted: 16, maxEpisodes: 40, concurrency: 1, noveltyThreshold: 1 },
      finetune: { backend: 'command', baseModel: 'student', command: [trainerScript(), '{out}', '{data}'] },
      evaluate: {
        via: 'endpoint',
        limit: 30,
        batchSize: 15,
        endpoint: {
          baseURL: f.server.baseURL,
          apiKeyEnv: 'NANOFLUX_TEST_KEY',
          models: {
            base: 'served-base', tuned: 'served-tuned', 'full-train': 'served-full',
            'ablation-complexity-2-s1': 'served-c2', 'ablation-complexity-2-s2': 'served-c2', 'ablation-complexity-3-s1': 'served-c3', 'ablation-complexity-3-s2': 'served-c3',
            // Quality L3 is complexity 2's examples, L4 complexity 3's (the Judge pairs them).
            'ablation-quality-L3-s1': 'served-c2', 'ablation-quality-L3-s2': 'served-c2', 'ablation-quality-L4-s1': 'served-c3', 'ablation-quality-L4-s2': 'served-c3',
          },
        },
      },
      ablation: { axes: ['complexity', 'quality'], seeds: 2, sizeMatch: 6, minExamples: 4 },
    });
    const config: RunConfigInput = { ...base, models: { a: { ...base.models.a, price }, b: { ...base.models.b, price }, judge: { ...base.models.judge, price }, embedding: { ...base.models.embedding, price: { inputPerMillion: 0.02, outputPerMillion: 0 } } } };
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('paper-shape'), args: [config] });
    expect(result.failedDomains).toEqual([]);
    expect(result.status.variants!.map((v) => v.variant).sort()).toEqual([
      ...['complexity-2', 'complexity-3', 'quality-L3', 'quality-L4'].flatMap((c) => [`ablation-${c}-s1`, `ablation-${c}-s2`]),
      'base', 'full-train', 'tuned',
    ]);
    const md = readFileSync(result.status.report!, 'utf8');

    // Paired: tuned against base and against full-train, with the paper's sign and McNemar's p on the 30 shared items.
    // tuned is right on 18 items (i%5==0 or odd), base on 6: +40 points.
    expect(md).toMatch(/tuned − base: \+40\.0 points \(tuned 60\.0%, base 20\.0% on 30 paired items\); 95% CI [^\n]*McNemar exact p/);
    expect(md).toMatch(/tuned − full-train: [+-][\d.]+ points [^\n]*McNemar exact p/);

    // The ablation: each cut with its two seeds, subsampled to 6 of its 8 examples, Δ against base paired.
    expect(md).toContain('### Ablation by complexity');
    expect(md).toMatch(/\| 2 \| 2 \(0, 1\) \| [\d.]+% \| [\d.]+ pts \| [\d.–%]+ \| 30 \| 6 of 8 \| 540 \| [+-][\d.]+ \(/);
    expect(md).toMatch(/\| 3 \| 2 \(0, 1\) \| [\d.]+% \| [\d.]+ pts \| [\d.–%]+ \| 30 \| 6 of 8 \| 540 \| [+-][\d.]+ \(/);

    // The whole compute: every part measured for both sides, and both ratios.
    expect(md).toContain('### Compute');
    const row = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label} |`)) ?? '';
    for (const label of ['generation tokens', 'generation USD', 'generation wall time', 'fine-tune tokens', 'fine-tune wall time', 'fine-tune hardware', 'fine-tune device-hours', 'evaluation tokens (prompt + completion)', 'evaluation wall time']) {
      expect(row(label), label).not.toBe('');
      expect(row(label), label).not.toContain('not measured');
    }
    expect(row('fine-tune tokens')).toMatch(/\| 1,440 \| 3,600 \|/); // 16 examples and 40 baseline rows, 90 tokens each
    expect(row('generation tokens')).toMatch(/attacker [\d,]+ · defender [\d,]+ · judge [\d,]+/);
    expect(md).toMatch(/Training compute \(fine-tune only\), full-train ÷ NanoFlux: 2\.5× the fine-tune tokens/);
    expect(md).toMatch(/Whole compute \(generation \+ fine-tune \+ evaluation\), full-train ÷ NanoFlux: [\d.]+× the tokens/);
    // What npm run demo:paper checks of its own report (scripts/lib/paper-report.ts) holds here.
    expect(paperReportLines(result.status.report)).toMatchObject({ complete: true });
    const compute = JSON.parse(readFileSync(join(f.workers.home, 'runs', 'paper-shape', 'compute.json'), 'utf8'));
    expect(JSON.stringify(compute)).toContain('Test GPU');
  }, 300_000);
});
