import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../common/env.js';
import { MissingResource } from '../../common/errors.js';
import type { Attack, Defense } from '../../common/contracts/index.js';
import type { ChatMessage } from './models/chat-model.js';
import { ngrams } from '../../common/prompt-overlap.js';

/**
 * Role prompts from versioned template files: prompts/<version>/<role>.md, a system part and a
 * user part split at a `---` line, with {{placeholders}}; prompts/<version>/domains/<pack>.md adds
 * domain notes. Every system prompt starts with `ROLE: <role>` so logs, the scripted test server
 * and people reading a history can tell the roles apart. Model-written text is always fenced as
 * data (<<<NAME … NAME>>>) and cannot close its own fence.
 */
const PROMPTS_DIR = join(PROJECT_ROOT, 'prompts');
const cache = new Map<string, string>();

function read(path: string): string {
  let text = cache.get(path);
  if (text === undefined) {
    if (!existsSync(path)) throw new MissingResource(`prompt template ${path} does not exist`);
    text = readFileSync(path, 'utf8');
    cache.set(path, text);
  }
  return text;
}

/** Fills {{name}} placeholders; a placeholder without a value is a bug in the template, so it fails loudly. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in vars)) throw new MissingResource(`prompt placeholder {{${name}}} has no value`);
    return String(vars[name]);
  });
}

function messages(version: string, role: 'attacker' | 'defender' | 'judge', vars: Record<string, string | number>): ChatMessage[] {
  const text = read(join(PROMPTS_DIR, version, `${role}.md`));
  const [system, user] = text.split(/^---$/m);
  if (user === undefined) throw new MissingResource(`prompt template ${version}/${role}.md has no --- line between its system and user parts`);
  return [
    { role: 'system', content: render(system!.trim(), vars) },
    { role: 'user', content: render(user.trim(), vars) },
  ];
}

function domainNotes(version: string, pack: string): string {
  if (pack === 'none') return '';
  return read(join(PROMPTS_DIR, version, 'domains', `${pack}.md`)).trim();
}

/** Data fence: the text cannot contain the fence markers, so it cannot end its fence early and speak as the prompt. */
export function fence(label: string, text: string): string {
  return `<<<${label}\n${text.replaceAll('<<<', '‹‹‹').replaceAll('>>>', '›››')}\n${label}>>>`;
}

export interface PromptContext {
  version: string;
  pack: string;
  brief: string;
}

export function attackerMessages(c: PromptContext & { topic: string; targetComplexity: number; targetHops: number; defenderProfile: string }): ChatMessage[] {
  return messages(c.version, 'attacker', {
    domainNotes: domainNotes(c.version, c.pack),
    brief: c.brief,
    topic: c.topic,
    targetComplexity: c.targetComplexity,
    targetHops: c.targetHops,
    defenderProfile: c.defenderProfile,
  });
}

export function defenderMessages(c: PromptContext & { question: string }): ChatMessage[] {
  return messages(c.version, 'defender', { brief: c.brief, question: fence('QUESTION', c.question) });
}

/**
 * One Defender answer is fenced as DEFENDER_REASONING / DEFENDER_ANSWER; several (solve-rate mode)
 * as DEFENDER_1_… in order, and the verdict then has one flag per answer (defendersCorrect).
 */
export function judgeMessages(c: PromptContext & { attack: Attack; defenses: Defense[] }): ChatMessage[] {
  const one = c.defenses.length === 1;
  const defenders = c.defenses
    .map((d, i) => {
      const tag = one ? 'DEFENDER' : `DEFENDER_${i + 1}`;
      return `${fence(`${tag}_REASONING`, d.reasoning)}\n${fence(`${tag}_ANSWER`, d.answer)}`;
    })
    .join('\n');
  return messages(c.version, 'judge', {
    defenderField: one ? 'defenderCorrect' : `defendersCorrect (a list of ${c.defenses.length} booleans, one per Defender answer in order)`,
    defenders,
    domainNotes: domainNotes(c.version, c.pack),
    brief: c.brief,
    question: fence('QUESTION', c.attack.question),
    referenceAnswer: fence('REFERENCE_ANSWER', c.attack.referenceAnswer),
    referenceSteps: fence('REFERENCE_STEPS', c.attack.solutionSteps.map((s, i) => `${i + 1}. ${s}`).join('\n')),
  });
}

const gramsByPrompt = new Map<string, ReadonlySet<string>>();

/**
 * Every word 6-gram of the role prompts of a version (attacker, defender, judge, the pack's notes),
 * placeholders removed: an attack that repeats many of them is the prompt read back (the junk
 * guards in workflows/logic/junk.ts judge the share).
 */
export function rolePromptGrams(version: string, pack: string): ReadonlySet<string> {
  const key = `${version}/${pack}`;
  let grams = gramsByPrompt.get(key);
  if (!grams) {
    const texts = (['attacker', 'defender', 'judge'] as const).map((role) => read(join(PROMPTS_DIR, version, `${role}.md`)));
    const all = [...texts, domainNotes(version, pack)].join('\n').replace(/\{\{\w+\}\}/g, '\n');
    grams = new Set(ngrams(all, 6));
    gramsByPrompt.set(key, grams);
  }
  return grams;
}

/** A digest of the Judge's prompt as a version and pack render it: a calibration is valid for this text only (activities/game/calibration/run.ts). */
export function judgePromptDigest(version: string, pack: string): string {
  return createHash('sha256').update(read(join(PROMPTS_DIR, version, 'judge.md'))).update(domainNotes(version, pack)).digest('hex').slice(0, 16);
}
