import { wilson } from '../../common/stats.js';
import type { GenerationCompute, ReportedVariant, ReportInput } from '../../activities/stages/report/types.js';
import type { EvaluationCompute, FineTuneResult, Hardware } from '../../common/contracts/index.js';
import type { ItemOutcome } from '../../common/paired-stats.js';

/** Scored variants and a run's report input, as tests/unit/report*.test.ts render them. */

/** A fine-tune's result as a variant's result carries it: 1000 tokens, 60 s, loss 2.5 → 0.75 unless told otherwise. */
export const trained = (over: Partial<FineTuneResult> = {}): FineTuneResult => ({
  backend: 'local',
  kind: 'adapter',
  model: 'adapter',
  trainTokens: 1000,
  wallSeconds: 60,
  steps: null,
  firstLoss: 2.5,
  lastLoss: 0.75,
  ...over,
});

/** Outcomes on items q0…q(n−1): right exactly on [from, to). Variants built from overlapping ranges disagree on known items. */
export const rightOn = (from: number, to: number, n = 200): ItemOutcome[] => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, correct: i >= from && i < to }));

/** A scored variant, right on its first `correct` items unless `over.items` says otherwise. */
export function score(variant: string, correct: number, over: Partial<ReportedVariant> = {}): ReportedVariant {
  const n = over.n ?? 200;
  return {
    items: rightOn(0, correct, n),
    domain: 'math',
    variant,
    benchmark: 'gsm8k',
    n,
    correct,
    accuracy: correct / n,
    ci95: wilson(correct, n),
    trainExamples: variant === 'base' ? null : 120,
    train: variant === 'base' ? null : trained(),
    ...over,
  };
}

export const cut = (axis: 'complexity' | 'quality' | 'size', value: string, correct: number): ReportedVariant =>
  score(`ablation-${axis}-${value}`, correct, { cut: { axis, value } });

export function runInput(over: Partial<ReportInput> = {}): ReportInput {
  return {
    runId: 'run-42',
    generatedAt: '2025-11-25T12:00:00.000Z',
    models: { attacker: 'gpt-4o', defender: 'qwen2.5-7b', judge: 'gpt-4o-mini', student: 'Qwen/Qwen2.5-0.5B-Instruct', backend: 'lora-local' },
    domains: [{ name: 'math', benchmark: 'gsm8k', evalItems: 200, datasetExamples: 120 }],
    variants: [
      // base right on q0–q79, tuned on q20–q119 (40 gained, 20 lost: +10 points), full-train on q16–q119 (4 more than tuned).
      score('base', 80),
      score('tuned', 100, { items: rightOn(20, 120), lossPoints: [0, 10, 20].map((step, i) => ({ step, loss: 2.5 - i })) }),
      score('full-train', 104, { items: rightOn(16, 120), train: trained({ trainTokens: 9000, wallSeconds: 190 }), trainExamples: 1000 }),
      // Out of order on purpose: the report sorts cuts by rank, not by input order or as text.
      cut('quality', 'L5', 90),
      cut('quality', 'L1', 70),
      cut('size', '200', 96),
      cut('size', '50', 84),
      cut('size', '100', 92),
    ],
    skipped: [{ domain: 'math', variant: 'ablation-size-400', reason: '120 examples < 400' }],
    ...over,
  };
}

// --- compute accounting (tests/unit/report-compute.test.ts) ------------------------------------

export const H100: Hardware = { kind: 'cuda', name: 'NVIDIA H100 80GB HBM3', devices: 1, visible: 8 };

/** What evaluating a variant took, every item measured unless told otherwise: on an H100 through the trainer. */
export const evaluated = (over: Partial<EvaluationCompute> = {}): EvaluationCompute => ({
  via: 'trainer',
  items: 200,
  measuredItems: 200,
  promptTokens: 8000,
  completionTokens: 2000,
  wallSeconds: 180,
  hardware: H100,
  ...over,
});

/** One domain's generation: 100,000 tokens and $0.80 over 400 episodes in an hour, every role priced. */
export const generated = (over: Partial<GenerationCompute> = {}): GenerationCompute => ({
  domain: 'math',
  episodes: 400,
  tokens: { attacker: 30000, defender: 20000, judge: 45000, embedding: 5000 },
  cost: { attacker: 0.3, defender: 0.05, judge: 0.45, embedding: 0 },
  uncosted: 0,
  unpriced: [],
  imported: { examples: 0, runs: [] },
  wallSeconds: 3600,
  domains: 1,
  ...over,
});

/**
 * base, tuned and full-train with every part measured: tuned 1,000 fine-tune tokens in 360 s, full-train
 * 9,000 in 3,240 s, both on one H100 (0.1 and 0.9 device-hours); evaluation 10,000 and 11,000 tokens, 180 s each.
 */
export function measuredRun(over: Partial<ReportInput> = {}): ReportInput {
  return runInput({
    variants: [
      score('base', 80, { evaluation: evaluated() }),
      score('tuned', 100, { items: rightOn(20, 120), train: trained({ wallSeconds: 360, hardware: H100 }), evaluation: evaluated() }),
      score('full-train', 104, { items: rightOn(16, 120), train: trained({ trainTokens: 9000, wallSeconds: 3240, hardware: H100 }), trainExamples: 1000, evaluation: evaluated({ completionTokens: 3000 }) }),
    ],
    skipped: [],
    generation: [generated()],
    ...over,
  });
}
