import { answerKind } from '../../common/answer-kind.js';
import { extractNumericAnswer, numericEqual } from '../../common/answers.js';
import type { Attack } from '../../common/contracts/game.js';
import type { ReferenceCheck } from '../../common/contracts/verification.js';
import { ErrorType, ModelError } from '../../common/errors.js';
import { runPython, type SandboxLimits } from './judge/python-sandbox.js';
import { judgeTools } from './judge/registry.js';
import type { ToolSpec } from './models/chat-model.js';

/**
 * A domain pack: what the Judge may use (its tools) and what can be checked without it (`verify`).
 * A new domain adds its pack here; `verify` returns `verified: null` where nothing deterministic
 * applies, and the Judge alone decides.
 */
export interface DomainPack {
  name: 'math' | 'genomics' | 'medical' | 'none';
  /** The Attacker must return a Python program that prints its final answer. */
  requiresProgram: boolean;
  judgeTools(): ToolSpec[];
  verify(attack: Attack): Promise<ReferenceCheck>;
}

/** Model-written code: the sandbox's limits, tighter in time than the Judge's tool (a one-line computation). */
const PROGRAM_LIMITS: Partial<SandboxLimits> = { wallTimeMs: 3000, memoryMb: 128, maxOutputBytes: 4096 };

const options = async (attack: Attack): Promise<ReferenceCheck> => optionsCheck(attack) ?? { method: 'none', verified: null, detail: 'no deterministic check applies: the Judge decides' };

export const PACKS: Record<DomainPack['name'], DomainPack> = {
  math: { name: 'math', requiresProgram: true, judgeTools: () => judgeTools('math'), verify: (a) => programCheck(a) },
  medical: { name: 'medical', requiresProgram: false, judgeTools: () => judgeTools('medical'), verify: options },
  genomics: { name: 'genomics', requiresProgram: false, judgeTools: () => judgeTools('genomics'), verify: options },
  none: { name: 'none', requiresProgram: false, judgeTools: () => judgeTools('none'), verify: options },
};

/** Stated options (lettered, or yes/no/maybe): the reference must be one of them. */
function optionsCheck(attack: Attack): ReferenceCheck | undefined {
  const kind = answerKind('none', attack.question, attack.referenceAnswer);
  if ('unparseable' in kind) return { method: 'options', verified: false, detail: kind.unparseable };
  if (kind.kind !== 'options') return undefined;
  return { method: 'options', verified: true, detail: `the reference ${kind.reference} is one of the stated options ${kind.choices.join('/')}` };
}

/**
 * Math: the Attacker's program runs in the sandbox; the reference is verified only when the last
 * number it prints equals the stated final answer (numeric tolerance, common/answers.ts). A missing
 * program, one that raises, loops or prints no number verifies nothing.
 */
export async function programCheck(attack: Attack): Promise<ReferenceCheck> {
  const code = attack.program?.trim();
  if (!code) return { method: 'program', verified: false, detail: 'the Attacker gave no program to compute its answer' };
  const r = await runPython(code, PROGRAM_LIMITS);
  // The sandbox itself failed (start-up timed out, closed): no verdict on the program; retried by Temporal.
  if (!r.ok && r.kind === 'refused' && /^python sandbox (unavailable|is closed)/.test(r.error)) throw new ModelError(ErrorType.ModelUnavailable, r.error);
  const stdout = r.stdout.slice(-2000);
  const program = { code, stdout, durationMs: r.durationMs, ...(r.ok ? {} : { error: `${r.kind}: ${r.error}`.slice(0, 500) }) };
  if (!r.ok) return { method: 'program', verified: false, detail: `the program failed (${r.kind}): ${r.error.split('\n').at(-1)?.slice(0, 200) ?? ''}`, program };
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  const printed = extractNumericAnswer(lastLine);
  if (printed === undefined) return { method: 'program', verified: false, detail: 'the program printed no number', program: { ...program, error: 'no number printed' } };
  const stated = extractNumericAnswer(attack.referenceAnswer);
  const verified = stated !== undefined && numericEqual(printed, stated);
  return { method: 'program', verified, detail: `the program printed ${printed}; the stated answer is ${attack.referenceAnswer}`, program };
}
