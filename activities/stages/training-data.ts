import type { EvalBenchmark, FineTuneConfig } from '../../common/config.js';
import {
  type AnnotationPlacement,
  type AnswerFormat,
  BASELINE_HAS_RATIONALES,
  type BaselineConfig,
  type TrainingConfig,
} from '../../common/config-training.js';
import type { TrainingExample } from '../../common/contracts/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBenchmark } from '../kit/benchmarks.js';
import { readJsonlRows, writeFileAtomic } from '../kit/files.js';
import { domainStageDir } from './layout.js';
import { numberedSteps, SYSTEM_PROMPT, type OpenAIChatRecord } from '../dataset/formats.js';

/**
 * The one template every training set of a domain is written in (the NanoFlux set, each baseline,
 * each ablation cut) and every model is evaluated with: the same system prompt, the same user turn
 * (the question, then the benchmark's instruction for this answer format), the same assistant turn
 * (steps or none, then `Answer: …`). A baseline and the NanoFlux set then differ in their questions
 * and solutions only, not in a convention the scorer or the student's chat template might favour.
 */
export interface TrainingPlan {
  /** The benchmark the domain is evaluated on; null: none, a generic instruction. */
  benchmark: EvalBenchmark | null;
  answerFormat: AnswerFormat;
  annotation: AnnotationPlacement;
  /** Steps inside `<think>…</think>` (the student's template renders with thinking on). */
  thinking: boolean;
}

const DEFAULT_TRAINING: TrainingConfig = { answerFormat: 'auto', annotation: 'omit', match: 'epochs', thinking: false };

/** `auto`: reasoning unless one of the domain's baselines has nothing but answers to train on. */
export function resolveAnswerFormat(format: TrainingConfig['answerFormat'], baselines: Pick<BaselineConfig, 'format'>[]): AnswerFormat {
  if (format !== 'auto') return format;
  return baselines.every((b) => BASELINE_HAS_RATIONALES[b.format]) ? 'reasoning' : 'answer-only';
}

/** A finetune section's training settings; a config parsed before they existed has none. */
export const trainingOf = (f: Partial<Pick<FineTuneConfig, 'training'>> | undefined): TrainingConfig => f?.training ?? DEFAULT_TRAINING;

/** training.match "tokens": a baseline (not tuned, not an ablation cut, which is its own size) trains on as many tokens as tuned does. */
export const matchesTunedTokens = (t: TrainingConfig, variant: string): boolean => t.match === 'tokens' && variant !== 'tuned' && !variant.startsWith('ablation-');

export function trainingPlan(training: TrainingConfig | undefined, benchmark: EvalBenchmark | null, baselines: Pick<BaselineConfig, 'format'>[]): TrainingPlan {
  const t = training ?? DEFAULT_TRAINING;
  return { benchmark, answerFormat: resolveAnswerFormat(t.answerFormat, baselines), annotation: t.annotation, thinking: t.thinking };
}

export const ANSWER_ONLY_SYSTEM_PROMPT = 'Give the final answer only.';

export const systemPrompt = (format: AnswerFormat): string => (format === 'reasoning' ? SYSTEM_PROMPT : ANSWER_ONLY_SYSTEM_PROMPT);

/**
 * The user turn, at training and at evaluation: the item, then how to state the answer. Every
 * variant sees the same prompt, and the instruction matches the `Answer: …` line the training data
 * ends with. The reasoning wording is what evaluation asked before answer formats existed.
 */
export function evalPrompt(benchmark: EvalBenchmark | null, question: string, format: AnswerFormat = 'reasoning'): string {
  const reasoning = format === 'reasoning';
  switch (benchmark) {
    case 'gsm8k':
    case 'gsmhard':
      return reasoning
        ? `${question}\n\nSolve the problem step by step, then give the final answer on its own line as "Answer: <number>".`
        : `${question}\n\nGive only the final answer, as "Answer: <number>".`;
    case 'pubmedqa':
      return reasoning
        ? `${question}\n\nAnswer the question with yes, no or maybe. Reason briefly, then end with "Answer: yes", "Answer: no" or "Answer: maybe".`
        : `${question}\n\nAnswer the question with yes, no or maybe: reply "Answer: yes", "Answer: no" or "Answer: maybe" only.`;
    case 'mcq':
      return reasoning ? `${question}\n\nChoose one option. Reason briefly, then end with "Answer: <letter>".` : `${question}\n\nChoose one option: reply "Answer: <letter>" only.`;
    case null:
      return reasoning
        ? `${question}\n\nSolve the problem step by step, then give the final answer on its own line as "Answer: <answer>".`
        : `${question}\n\nGive only the final answer, as "Answer: <answer>".`;
  }
}

/**
 * The assistant turn. `steps` are dropped for answer-only; the annotation is a paragraph before
 * the steps (`prepend`) or after the answer line (`append`). With thinking, what precedes the
 * answer goes inside `<think>…</think>` (empty when there is nothing): the text a Qwen3 template
 * renders for a thinking turn, so the student learns to think before it answers.
 */
export function assistantTurn(t: { steps: string; answer: string; annotation?: string }, plan: Pick<TrainingPlan, 'answerFormat' | 'annotation' | 'thinking'>): string {
  const note = t.annotation?.trim() ?? '';
  const before = [plan.annotation === 'prepend' ? note : '', plan.answerFormat === 'reasoning' ? t.steps.trim() : ''].filter(Boolean).join('\n\n');
  const after = plan.annotation === 'append' && note ? `\n\n${note}` : '';
  const answer = `Answer: ${t.answer.trim()}`;
  if (plan.thinking) return `<think>\n${before}\n</think>\n\n${answer}${after}`;
  return `${before ? `${before}\n\n` : ''}${answer}${after}`;
}

const chat = (plan: TrainingPlan, question: string, answer: string): OpenAIChatRecord => ({
  messages: [
    { role: 'system', content: systemPrompt(plan.answerFormat) },
    { role: 'user', content: evalPrompt(plan.benchmark, question, plan.answerFormat) },
    { role: 'assistant', content: answer },
  ],
});

/** The plan of a baseline read on its own (no domain around it): its own format decides `auto`. */
const ownPlan = (b: Pick<BaselineConfig, 'format'>): TrainingPlan => trainingPlan(undefined, null, [b]);

/** The NanoFlux set of one domain (or one ablation cut of it) in the domain's training template. */
export function nanofluxTrainingRows(examples: TrainingExample[], plan: TrainingPlan = trainingPlan(undefined, null, [])): OpenAIChatRecord[] {
  return examples.map((e) => chat(plan, e.question, assistantTurn({ steps: numberedSteps(e), answer: e.answer, annotation: e.annotation }, plan)));
}

/**
 * A baseline training set (e.g. the full GSM8K training split) in the domain's template. The
 * annotation is the NanoFlux set's alone: a baseline has none, whatever the plan says.
 */
export function baselineRows(b: BaselineConfig, file: string, plan: TrainingPlan = ownPlan(b)): OpenAIChatRecord[] {
  if (plan.answerFormat === 'reasoning' && !BASELINE_HAS_RATIONALES[b.format]) {
    throw new Error(`${file}: an ${b.format} baseline has no rationales to train reasoning on (finetune.training.answerFormat)`);
  }
  const rows = readBaseline(b.format, file);
  return (b.limit === undefined ? rows : rows.slice(0, b.limit)).map((r) => chat(plan, r.question, assistantTurn({ ...r, annotation: '' }, plan)));
}

interface BaselineRow {
  question: string;
  steps: string;
  answer: string;
}

function readBaseline(format: BaselineConfig['format'], file: string): BaselineRow[] {
  switch (format) {
    case 'chat':
      return readJsonlRows(file).map(({ line, value }) => chatRow(value, `${file}:${line + 1}`));
    case 'gsm8k':
      return readJsonlRows(file).map(({ line, value }) => {
        const v = value as { question?: unknown; answer?: unknown };
        const parts = typeof v?.answer === 'string' ? /^([\s\S]*?)\n?####\s*(.+?)\s*$/.exec(v.answer) : null;
        if (typeof v?.question !== 'string' || !parts) throw new Error(`${file}:${line + 1}: expected {"question", "answer" ending in "#### <answer>"}`);
        // GSM8K's <<48/2=24>> calculator annotations are not text a model should learn to write.
        return { question: v.question, steps: parts[1]!.replace(/<<[^>]*>>/g, '').trim(), answer: parts[2]! };
      });
    case 'mcq':
      return loadBenchmark('mcq', file).map((item) => ({ question: item.question, steps: '', answer: item.reference }));
  }
}

/**
 * One exchange of a chat baseline: its user turn is the question (its own system turn gives way to
 * the template's), its assistant turn the steps and a last `Answer: …` line, which the template
 * writes again in the domain's format. A row that cannot be read so would train another format.
 */
function chatRow(value: unknown, where: string): BaselineRow {
  const m = (value as { messages?: unknown })?.messages;
  const ok = Array.isArray(m) && m.length > 0 && m.every((x) => typeof x?.role === 'string' && typeof x?.content === 'string');
  if (!ok || !m.some((x: { role: string }) => x.role === 'assistant')) {
    throw new Error(`${where}: expected {"messages":[{"role","content"},…]} with an assistant turn`);
  }
  const turns = (m as { role: string; content: string }[]).filter((x) => x.role !== 'system');
  if (turns.length !== 2 || turns[0]!.role !== 'user' || turns[1]!.role !== 'assistant') {
    throw new Error(`${where}: expected one user turn and one assistant turn (a system turn is replaced by the training template's)`);
  }
  const lines = turns[1]!.content.trimEnd().split('\n');
  const answer = /^Answer:\s*(\S.*)$/.exec(lines.at(-1)!.trim())?.[1];
  if (answer === undefined) {
    throw new Error(`${where}: the assistant turn must end with an "Answer: …" line (the line every training set and the scorer share)`);
  }
  return { question: turns[0]!.content, steps: lines.slice(0, -1).join('\n').trim(), answer };
}

/**
 * The domain's plan, kept beside its stage files: written when the domain's training files are, read
 * when the ablation writes its cuts, so a cut is written in the template of the `tuned` it is set
 * against (and a reader of the run can see how its training text was made).
 */
const planPath = (home: string, runId: string, domain: string) => join(domainStageDir(home, runId, domain), 'training-plan.json');

export function writeTrainingPlan(home: string, runId: string, domain: string, plan: TrainingPlan): TrainingPlan {
  writeFileAtomic(planPath(home, runId, domain), JSON.stringify(plan, null, 1));
  return plan;
}

/** An ablation of a run prepared before plans were written gets what those files were: reasoning, no annotation. */
export function readTrainingPlan(home: string, runId: string, domain: string): TrainingPlan {
  const path = planPath(home, runId, domain);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TrainingPlan) : trainingPlan(undefined, null, []);
}
