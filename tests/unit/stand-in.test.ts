import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { attackerMessages, judgeMessages } from '../../activities/game/prompts.js';
import { exactArithmetic, mathTools } from '../../activities/game/judge/tools/math.js';
import { MathAttackSchema, VerdictSchema } from '../../common/game.js';
import { type Detail, expressionOf, gradeSteps, readProblem, writeProblem } from '../../scripts/lib/stand-in/problems.js';
import { answer, type StandIn, startStandIn } from '../../scripts/lib/stand-in/server.js';

/**
 * The paper rehearsal's stand-in players (npm run demo:paper): the problems they write are read back
 * from their text alone, graded as the Judge's rubric says, and the stand-in Judge confirms a
 * reference only through a real exact_arithmetic round of NanoFlux's own Judge loop.
 */
const DETAILS: Detail[] = ['explained', 'terse', 'gaps'];

describe('stand-in word problems', () => {
  it('reads every problem back from its question alone, and its expression computes the answer', () => {
    for (let seed = 0; seed < 300; seed++) {
      const ops = 1 + (seed % 5);
      const p = writeProblem(seed, ops, DETAILS[seed % 3]!);
      const back = readProblem(p.question);
      expect(back, p.question).toEqual({ start: p.start, ops: p.ops });
      expect(Number(exactArithmetic(expressionOf(back!)).fraction), p.question).toBe(p.answer);
      expect(Number.isInteger(p.answer) && p.answer > 0).toBe(true);
    }
  });

  it('grades explained steps 4, bare arithmetic 3 and missing working 2, at every length', () => {
    for (let ops = 1; ops <= 5; ops++) {
      expect(gradeSteps(writeProblem(ops, ops, 'explained').steps, ops)).toBe(4);
      expect(gradeSteps(writeProblem(ops, ops, 'terse').steps, ops)).toBe(3);
      expect(gradeSteps(writeProblem(ops, ops, 'gaps').steps, ops)).toBe(2);
    }
  });

  it('defends by reading the problem back from the fenced question, and owns up to a foreign one', () => {
    const p = writeProblem(11, 4, 'terse');
    const body = (q: string) => ({ model: 'stand-in-frontier', messages: [{ role: 'user', content: `<<<QUESTION\n${q}\nQUESTION>>>` }], response_format: { json_schema: { name: 'defense' } } });
    expect(answer(body(p.question), 0)).toEqual({ json: { reasoning: expect.stringContaining(`= ${p.answer}`), answer: String(p.answer) } });
    expect(answer(body('What is the capital of France?'), 1)).toEqual({ json: expect.objectContaining({ answer: 'unknown' }) });
  });

  it('reads no other text as a problem', () => {
    expect(readProblem('Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether?')).toBeUndefined();
    expect(readProblem('Mia has 12 marbles at the fair. Then they eat 3. How many marbles does Mia have now?')).toBeUndefined();
  });
});

describe('the stand-in server, through the production client and the Judge\'s tool loop', () => {
  let standIn: StandIn;
  const model = (name: string) => new OpenAIChatModel({ model: name, baseURL: standIn.baseURL, apiKey: 'unused' });
  beforeAll(async () => {
    standIn = await startStandIn(['stand-in-frontier', 'stand-in-judge']);
  });
  afterAll(() => standIn.close());

  const ctx = { version: 'v1', brief: 'Running totals.', pack: 'math' };

  it('attacks near the complexity asked, with a program, and its Judge confirms the reference after one exact_arithmetic round', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const a = await model('stand-in-frontier').generate({ messages: attackerMessages({ ...ctx, topic: 'sharing', targetComplexity: 3, targetHops: 3, defenderProfile: '' }), schema: MathAttackSchema, schemaName: 'attack' });
      const ops = readProblem(a.value.question)!.ops.length;
      seen.add(ops);
      expect(ops).toBeGreaterThanOrEqual(2);
      expect(ops).toBeLessThanOrEqual(4);

      const wrong = String(Number(a.value.referenceAnswer) + 1);
      const v = await model('stand-in-judge').generate({ messages: judgeMessages({ ...ctx, attack: a.value, defenses: [{ reasoning: 'guess', answer: wrong }] }), schema: VerdictSchema, schemaName: 'verdict', tools: mathTools, maxToolRounds: 2 });
      expect(v.toolCalls.map((c) => [c.tool, c.error])).toEqual([['exact_arithmetic', undefined]]);
      expect(v.value).toMatchObject({ questionValid: true, referenceCorrect: true, defenderCorrect: false, complexity: ops, hops: ops });
      expect(v.value.quality).toBe(gradeSteps(a.value.solutionSteps, ops));
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('refuses a wrong reference, credits a right Defender, and cannot verify a question outside its grammar', async () => {
    const p = writeProblem(5, 3, 'explained');
    const attack = { question: p.question, referenceAnswer: String(p.answer + 2), solutionSteps: p.steps, skill: 's', annotation: 'a', program: p.program };
    const judge = (a: typeof attack, answer: string) =>
      model('stand-in-judge').generate({ messages: judgeMessages({ ...ctx, attack: a, defenses: [{ reasoning: 'r', answer }] }), schema: VerdictSchema, schemaName: 'verdict', tools: mathTools, maxToolRounds: 2 });
    expect((await judge(attack, String(p.answer))).value).toMatchObject({ questionValid: true, referenceCorrect: false, defenderCorrect: true });
    const foreign = await judge({ ...attack, question: 'What is the capital of a country that has no capital?' }, '3');
    expect(foreign.value).toMatchObject({ questionValid: false, referenceCorrect: false });
    expect(foreign.toolCalls).toEqual([]);
  });
});
