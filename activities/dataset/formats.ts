import type { TrainingExample } from '../../common/contracts/index.js';

/**
 * One training example in each trainer's format. Pure functions: the export activity does the I/O.
 * Every format trains on the same target text (solutionText), so a dataset cut in two formats
 * teaches the same thing.
 */

export const EXPORT_FORMATS = ['openai', 'sharegpt', 'alpaca', 'hf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const isExportFormat = (f: string): f is ExportFormat => (EXPORT_FORMATS as readonly string[]).includes(f);

export const SYSTEM_PROMPT = 'Solve the problem step by step, then state the final answer.';

/**
 * The one place the target text is built: numbered reference steps, a blank line, `Answer: …`.
 * A step the Attacker already numbered ("2) …") is renumbered, not numbered twice.
 */
export function solutionText(e: TrainingExample): string {
  return `${numberedSteps(e)}\n\nAnswer: ${e.answer}`;
}

/** The reference steps alone, numbered as in solutionText (the stages' training text builds on them too). */
export const numberedSteps = (e: TrainingExample): string => e.solutionSteps.map((s, i) => `${i + 1}. ${s.replace(/^\s*\d+[.)]\s*/, '')}`).join('\n');

export interface OpenAIChatRecord {
  messages: { role: string; content: string }[];
}
export interface ShareGPTRecord {
  conversations: { from: 'system' | 'human' | 'gpt'; value: string }[];
}
export interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
}
/** Flat, snake_case columns: what Hugging Face `datasets` shows and filters on best. */
export interface HfRecord {
  id: string;
  question: string;
  solution: string;
  answer: string;
  domain: string;
  skill: string;
  complexity: number;
  hops: number;
  quality: number;
  quality_level: string;
  novelty: number;
  annotation: string;
  run_id: string;
  episode: number;
}

export interface FormatRecord {
  openai: OpenAIChatRecord;
  sharegpt: ShareGPTRecord;
  alpaca: AlpacaRecord;
  hf: HfRecord;
}

/** OpenAI chat fine-tuning format: the question as the user turn, the numbered reference solution as the assistant turn. */
export function toOpenAIChat(e: TrainingExample): OpenAIChatRecord {
  return {
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: e.question },
      { role: 'assistant', content: solutionText(e) },
    ],
  };
}

/** ShareGPT (Axolotl, LLaMA-Factory, FastChat): the same three turns under its role names. */
export function toShareGPT(e: TrainingExample): ShareGPTRecord {
  return {
    conversations: [
      { from: 'system', value: SYSTEM_PROMPT },
      { from: 'human', value: e.question },
      { from: 'gpt', value: solutionText(e) },
    ],
  };
}

/** Alpaca: the question is the instruction; it is self-contained, so `input` stays empty. */
export function toAlpaca(e: TrainingExample): AlpacaRecord {
  return { instruction: e.question, input: '', output: solutionText(e) };
}

export function toHfRecord(e: TrainingExample): HfRecord {
  return {
    id: e.id,
    question: e.question,
    solution: solutionText(e),
    answer: e.answer,
    domain: e.domain,
    skill: e.skill,
    complexity: e.complexity,
    hops: e.hops,
    quality: e.quality,
    quality_level: e.qualityLevel,
    novelty: e.novelty,
    annotation: e.annotation,
    run_id: e.provenance.runId,
    episode: e.provenance.episode,
  };
}

const FORMATTERS: { [F in ExportFormat]: (e: TrainingExample) => FormatRecord[F] } = {
  openai: toOpenAIChat,
  sharegpt: toShareGPT,
  alpaca: toAlpaca,
  hf: toHfRecord,
};

export function formatExample<F extends ExportFormat>(format: F, example: TrainingExample): FormatRecord[F] {
  return FORMATTERS[format](example);
}

/** Markdown describing each format's fields, for the dataset card. */
export const FORMAT_FIELDS: Record<ExportFormat, string> = {
  openai: [
    'OpenAI chat fine-tuning format, one object per line:',
    '',
    '- `messages[0]` — `role: "system"`: the fixed instruction to solve step by step and state the final answer.',
    '- `messages[1]` — `role: "user"`: the question, self-contained.',
    '- `messages[2]` — `role: "assistant"`: the numbered reference steps, a blank line, then `Answer: <answer>`.',
  ].join('\n'),
  sharegpt: [
    'ShareGPT conversations (Axolotl, LLaMA-Factory, FastChat), one object per line:',
    '',
    '- `conversations[0]` — `from: "system"`: the fixed instruction to solve step by step and state the final answer.',
    '- `conversations[1]` — `from: "human"`: the question, self-contained.',
    '- `conversations[2]` — `from: "gpt"`: the numbered reference steps, a blank line, then `Answer: <answer>`.',
  ].join('\n'),
  alpaca: [
    'Alpaca instruction format, one object per line:',
    '',
    '- `instruction` — the question, self-contained.',
    '- `input` — always empty (the question carries all its context).',
    '- `output` — the numbered reference steps, a blank line, then `Answer: <answer>`.',
  ].join('\n'),
  hf: [
    'Flat records for Hugging Face `datasets`, one object per line:',
    '',
    '- `id` — stable example id (run, domain, episode).',
    '- `question` — the question, self-contained.',
    '- `solution` — the numbered reference steps, a blank line, then `Answer: <answer>`.',
    '- `answer` — the final answer alone.',
    '- `domain`, `skill` — the domain and the skill the question targets.',
    '- `complexity` — 1–5, as scored by the Judge.',
    '- `hops` — dependent reasoning steps, as scored by the Judge.',
    '- `quality` — reasoning quality of the reference solution, 1.0–5.0; `quality_level` — its bin, L1–L5.',
    '- `novelty` — 0–1: one minus the cosine similarity to the nearest stored or benchmark question.',
    '- `annotation` — why the question is hard: the pitfall it sets.',
    '- `run_id`, `episode` — where it came from.',
  ].join('\n'),
};
