import type { BaselineSchema, EvalBenchmark } from '../../common/config.js';
import type { z } from 'zod';
import type { TrainingExample } from '../../common/contracts/index.js';
import { loadBenchmark } from '../kit/benchmarks.js';
import { readJsonlRows } from '../kit/files.js';
import { SYSTEM_PROMPT, toOpenAIChat, type OpenAIChatRecord } from '../dataset/formats.js';

type Baseline = z.infer<typeof BaselineSchema>;

/** The NanoFlux set of one domain in the trainer's chat format (the same text the export writes). */
export function nanofluxTrainingRows(examples: TrainingExample[]): OpenAIChatRecord[] {
  return examples.map(toOpenAIChat);
}

/**
 * A baseline training set (e.g. the full GSM8K training split) turned into the same chat format as
 * the NanoFlux set: same system prompt, same `Answer: …` last line, so the two differ in their
 * questions and solutions only, not in a formatting convention the scorer might favour.
 */
export function baselineRows(b: Baseline, file: string): OpenAIChatRecord[] {
  const rows = readBaseline(b.format, file);
  return b.limit === undefined ? rows : rows.slice(0, b.limit);
}

function readBaseline(format: Baseline['format'], file: string): OpenAIChatRecord[] {
  switch (format) {
    case 'chat':
      return readJsonlRows(file).map(({ line, value }) => {
        const m = (value as { messages?: unknown })?.messages;
        const ok = Array.isArray(m) && m.length > 0 && m.every((x) => typeof x?.role === 'string' && typeof x?.content === 'string');
        if (!ok || !m.some((x: { role: string }) => x.role === 'assistant')) {
          throw new Error(`${file}:${line + 1}: expected {"messages":[{"role","content"},…]} with an assistant turn`);
        }
        return { messages: m as OpenAIChatRecord['messages'] };
      });
    case 'gsm8k':
      return readJsonlRows(file).map(({ line, value }) => {
        const v = value as { question?: unknown; answer?: unknown };
        const parts = typeof v?.answer === 'string' ? /^([\s\S]*?)\n?####\s*(.+?)\s*$/.exec(v.answer) : null;
        if (typeof v?.question !== 'string' || !parts) throw new Error(`${file}:${line + 1}: expected {"question", "answer" ending in "#### <answer>"}`);
        // GSM8K's <<48/2=24>> calculator annotations are not text a model should learn to write.
        const steps = parts[1]!.replace(/<<[^>]*>>/g, '').trim();
        return chat(v.question, `${steps}\n\nAnswer: ${parts[2]}`);
      });
    case 'mcq':
      return loadBenchmark('mcq', file).map((item) => chat(item.question, `Answer: ${item.reference}`));
  }
}

const chat = (question: string, answer: string): OpenAIChatRecord => ({
  messages: [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: question },
    { role: 'assistant', content: answer },
  ],
});

/**
 * The evaluation prompt: the benchmark item, then how to state the answer. Every variant sees the
 * same prompt, and the instruction matches the `Answer: …` line the training data ends with.
 */
export function evalPrompt(benchmark: EvalBenchmark, question: string): string {
  switch (benchmark) {
    case 'gsm8k':
    case 'gsmhard':
      return `${question}\n\nSolve the problem step by step, then give the final answer on its own line as "Answer: <number>".`;
    case 'pubmedqa':
      return `${question}\n\nAnswer the question with yes, no or maybe. Reason briefly, then end with "Answer: yes", "Answer: no" or "Answer: maybe".`;
    case 'mcq':
      return `${question}\n\nChoose one option. Reason briefly, then end with "Answer: <letter>".`;
  }
}
