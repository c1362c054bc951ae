import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingExample } from '../common/game.js';

/** OpenAI chat fine-tuning format: the question as the user turn, the numbered reference solution as the assistant turn. */
export function toOpenAIChat(e: TrainingExample): { messages: { role: string; content: string }[] } {
  const steps = e.solutionSteps.map((s, i) => `${i + 1}. ${s.replace(/^\s*\d+[.)]\s*/, '')}`).join('\n');
  return {
    messages: [
      { role: 'system', content: 'Solve the problem step by step, then state the final answer.' },
      { role: 'user', content: e.question },
      { role: 'assistant', content: `${steps}\n\nAnswer: ${e.answer}` },
    ],
  };
}

export const runDir = (home: string, runId: string): string => join(home, 'runs', runId);

/** Writes through a temporary file and a rename, so a retried export replaces rather than appends, and a reader never sees half a file. */
export function writeJsonl(path: string, rows: unknown[]): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  renameSync(tmp, path);
}
