import type { RunConfigInput } from '../../common/config.js';
import type { ScriptedOpenAI, ScriptedRequest, ScriptedResponse } from './scripted-openai.js';

/**
 * A scripted three-role game over the scripted OpenAI-compatible server: the Attacker writes
 * questions from disjoint vocabularies (so novelty never rejects them by accident), the Defender
 * is right or wrong by a rule, the Judge verifies and passes the Defender's correctness through.
 */
const WORDS = 'amber basil cedar delta ember fjord garnet harbor indigo juniper kestrel lagoon maple nectar onyx prairie quartz raven saffron tundra umber violet willow xenon yarrow zephyr'.split(' ');

let questionCounter = 0;
export function uniqueQuestion(): string {
  const n = questionCounter++;
  // A different word set per question keeps bag-of-words similarity low between any two questions.
  const words = Array.from({ length: 6 }, (_, i) => `${WORDS[(n * 7 + i * 3) % WORDS.length]}${n}x${i}`);
  return `Question ${n}: ${words.join(' ')} — how many ${words[0]} remain after 3 steps?`;
}

export interface GameRules {
  /**
   * Whether the Defender answers this question correctly (default: every other call). Questions
   * carry the complexity they were asked for as `[c=N]`, for Defenders whose skill depends on it.
   */
  defenderRight?: (question: string, call: number) => boolean;
  delayMs?: number;
  /** Answers requests that are not a game role (e.g. evaluation prompts sent to an endpoint). */
  other?: (req: ScriptedRequest) => ScriptedResponse;
}

export function scriptGame(server: ScriptedOpenAI, rules: GameRules = {}): { calls: Record<string, number> } {
  const calls: Record<string, number> = { attacker: 0, defender: 0, judge: 0 };
  const right = rules.defenderRight ?? ((_q, n) => n % 2 === 0);
  server.script((req: ScriptedRequest): ScriptedResponse => {
    const delay = rules.delayMs ? { delayMs: rules.delayMs } : {};
    // Preflight's probe (activities/game/preflight.ts): any working endpoint answers it.
    if (req.response_format?.json_schema?.name === 'preflight') return { json: { ok: true } };
    if (req.role === 'attacker') {
      calls.attacker! += 1;
      const level = /Target complexity \(1-5\): (\d)/.exec(JSON.stringify(req.messages))?.[1] ?? '?';
      // A math domain's schema asks for the program that prints the answer (activities/game/packs.ts runs it).
      const program = wantsProgram(req) ? { program: 'parts = 45\nloss = 3\nprint(parts - loss)' } : {};
      return { ...delay, json: { question: `${uniqueQuestion()} [c=${level}]`, referenceAnswer: '42', solutionSteps: ['Add the parts.', 'Subtract the loss.'], skill: 'multi-step arithmetic', annotation: 'The loss is easy to apply twice.', ...program } };
    }
    if (req.role === 'defender') {
      const n = calls.defender!++;
      const q = String(req.messages.at(-1)?.content ?? '');
      return { ...delay, json: { reasoning: 'I added and subtracted.', answer: right(q, n) ? '42' : '41' } };
    }
    if (req.role === 'judge') {
      calls.judge! += 1;
      const user = String(req.messages.find((m) => m.role === 'user')?.content ?? '');
      const scores = { questionValid: true, referenceCorrect: true, complexity: 3, hops: 2, quality: 4.0, explanation: 'Recomputed: 42.' };
      const answers = [...user.matchAll(/<<<DEFENDER_(?:\d+_)?ANSWER\n([\s\S]*?)\n/g)].map((m) => m[1] === '42');
      if (answers.length > 1) return { ...delay, json: { ...scores, defendersCorrect: answers } };
      return { ...delay, json: { ...scores, defenderCorrect: answers[0] ?? false } };
    }
    if (rules.other) return rules.other(req);
    return { status: 400, message: `unexpected role ${req.role}` };
  });
  return { calls };
}

/** Whether a request's response schema has a `program` field (the Attacker of a math-pack domain). */
export function wantsProgram(req: ScriptedRequest): boolean {
  const schema = req.response_format?.json_schema?.schema as { properties?: Record<string, unknown> } | undefined;
  return Boolean(schema?.properties && 'program' in schema.properties);
}

export function testConfig(baseURL: string, runId: string, overrides: Partial<RunConfigInput> = {}): RunConfigInput {
  const model = (name: string) => ({ provider: 'openai' as const, model: name, baseURL, apiKeyEnv: 'NANOFLUX_TEST_KEY' });
  return {
    runId,
    domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: ['rates', 'fractions'], benchmark: 'none' }],
    models: { a: model('model-a'), b: model('model-b'), judge: model('judge'), embedding: model('embed') },
    generation: { targetAccepted: 3, maxEpisodes: 30, concurrency: 2, noveltyThreshold: 0.85 },
    budget: {},
    // Preflight's minimal requests would shift every script's request counts: off unless a test turns it on (tests/workflow/preflight.test.ts).
    preflight: false,
    ...overrides,
    // The scripted Judge passes every reference, so it fails calibration by design: off unless a test turns it on.
    judge: { calibration: false, ...overrides.judge },
  };
}
