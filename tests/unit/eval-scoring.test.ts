import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { extractChoice, extractNumericAnswer, normalizeNumber, numericEqual } from '../../common/answers.js';
import { loadBenchmark } from '../../activities/kit/benchmarks.js';
import { loadPredictions, type ScoreReport, scorePredictions, wilson } from '../../activities/stages/eval/score.js';
import { scoreCommand } from '../../scripts/commands/score.js';

const tmp = mkdtempSync(join(tmpdir(), 'nf-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const GSM8K = join(PROJECT_ROOT, 'datasets', 'gsm8k', 'test.jsonl');
const PUBMEDQA = join(PROJECT_ROOT, 'datasets', 'pubmedqa');

/** Writes a temp file; objects become JSONL lines, strings are written verbatim (for broken lines). */
function file(name: string, lines: (object | string)[]): string {
  const path = join(tmp, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

describe('extractNumericAnswer', () => {
  it.each([
    ['It costs $1,234.50 in total.', '1234.5'],
    ['1234.5', '1234.5'],
    ['The temperature fell to -3 degrees.', '-3'],
    ['He owed -$5 at the end.', '-5'],
    ['She ate 3/4 of the pie.', '0.75'],
    ['Sales rose by 12.5%.', '12.5'],
    ['The total is 18.00', '18'],
    ['#### 1,000', '1000'],
    ['Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18', '18'],
    ['First 5, then 7. The answer is 18. Check: 20 - 2 = 18? no, 21', '18'],
    ['Answer: 18\nThat is 3 more than 15.', '18'],
    ['So the result is $\\boxed{18}$, plus 20 spare.', '18'],
    ['so \\boxed{\\frac{3}{4}} of the cake', '0.75'],
    ['\\boxed{\\$1{,}234}', '1234'],
    ['\\boxed{2 \\times 9 = 18}', '18'],
    ['The final answer is: $42.', '42'],
    ['We add 16-3-4=9 then double it: 18 dollars', '18'],
    // Thousands commas need groups of three: a list stays a list.
    ['the values 1,2,3', '3'],
  ])('%j → %s', (text, expected) => {
    expect(extractNumericAnswer(text)).toBe(expected);
  });

  it('prefers #### over \\boxed{} over "answer is" over the last number', () => {
    expect(extractNumericAnswer('The answer is 7. \\boxed{9} #### 11 and later 13')).toBe('11');
    expect(extractNumericAnswer('The answer is 7. \\boxed{9} and later 13')).toBe('9');
    expect(extractNumericAnswer('The answer is 7, and later 13')).toBe('7');
    expect(extractNumericAnswer('7 then 13')).toBe('13');
  });

  it('falls through a marker with no number, and finds nothing in words', () => {
    expect(extractNumericAnswer('We get 12 apples. #### twelve')).toBe('12');
    expect(extractNumericAnswer('The answer is unknown')).toBeUndefined();
    expect(extractNumericAnswer('')).toBeUndefined();
  });

  it('normalises numbers', () => {
    expect(normalizeNumber('018.50')).toBe('18.5');
    expect(normalizeNumber('-0.0')).toBe('0');
    expect(normalizeNumber('.5')).toBe('0.5');
    expect(normalizeNumber('1/0')).toBeUndefined();
    expect(normalizeNumber('twelve')).toBeUndefined();
    expect(normalizeNumber('12345678901234567890')).toBe('12345678901234567890');
  });
});

describe('numericEqual', () => {
  it.each([
    ['18', '18.0', true],
    ['$1,234.50', '1234.5', true],
    ['3/4', '0.75', true],
    ['50%', '50', true],
    ['18', '18.0000001', true],
    ['0', '1e-9', true],
    ['0', '0.001', false],
    ['1.6666666666666667', '1.666667', true],
    ['1.6666666666666667', '1.67', false],
    ['1000000', '1000000.5', true],
    ['1000000', '1000002', false],
    ['-3', '3', false],
    ['abc', 'abc', false],
    ['', '0', false],
  ])('%s vs %s → %s', (a, b, expected) => {
    expect(numericEqual(a, b)).toBe(expected);
  });

  it('takes a tolerance', () => {
    expect(numericEqual('1', '1.01', 0.05)).toBe(true);
    expect(numericEqual('1', '1.01', 0.001)).toBe(false);
  });
});

describe('extractChoice', () => {
  const YNM = ['yes', 'no', 'maybe'];
  it.each([
    ['Answer: yes', 'yes'],
    ['Based on the data, the answer is **no**.', 'no'],
    ['The answer is: Maybe', 'maybe'],
    ['\\boxed{no}', 'no'],
    // The leading word is the answer; the explanation may use the other words.
    ['Yes, there is no evidence of harm.', 'yes'],
    ['No. It might be that yes, some effect exists.', 'no'],
    // Ambiguous with no explicit answer and no leading choice: the last one mentioned.
    ['The results are mixed; maybe the effect is real, but overall no.', 'no'],
    ['Considering the evidence, no clear trend, though yes on balance', 'yes'],
    // Word boundaries: "Nothing", "known", "yesterday" hold no choice.
    ['Nothing is known yesterday', undefined],
    ['Answer: no, although the reviewers said yes', 'no'],
  ])('yes/no/maybe: %j → %s', (text, expected) => {
    expect(extractChoice(text, YNM)).toBe(expected);
  });

  const LETTERS = ['A', 'B', 'C', 'D', 'E'];
  it.each([
    ['(B)', 'B'],
    ['B.', 'B'],
    ['B', 'B'],
    ['**D**', 'D'],
    ['Answer: B', 'B'],
    ['**Answer:** C', 'C'],
    ['the answer is C because it fits', 'C'],
    ['The answer is (E).', 'E'],
    ['\\boxed{D}', 'D'],
    ['B. Because the enzyme is inhibited.', 'B'],
    ['Since the dose is low (A) is wrong, so (C) fits best', 'C'],
    // A reply that opens with a labelled letter answers with it.
    ['(B) because the enzyme is inhibited, unlike (D)', 'B'],
    ['I considered (A) first. Answer: D', 'D'],
    // A capital in prose, an article after "answer is", a letter not offered: no answer.
    ['A patient has a fever.', undefined],
    ['the answer is a trick question', undefined],
    ['Answer: F', undefined],
  ])('letters: %j → %s', (text, expected) => {
    expect(extractChoice(text, LETTERS)).toBe(expected);
  });

  it('only offers the given letters', () => {
    expect(extractChoice('Answer: E', ['A', 'B', 'C', 'D'])).toBeUndefined();
    expect(extractChoice('anything', [])).toBeUndefined();
  });
});

describe('wilson', () => {
  // Hand-computed: centre (p + z²/2n)/(1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n).
  it.each([
    [8, 10, 0.4902, 0.9433],
    [0, 20, 0, 0.1611],
    [20, 20, 0.8389, 1],
    [3, 5, 0.2307, 0.8824],
    [1, 2, 0.0945, 0.9055],
  ])('%i/%i → [%f, %f]', (k, n, low, high) => {
    const ci = wilson(k, n);
    expect(ci.low).toBeCloseTo(low, 3);
    expect(ci.high).toBeCloseTo(high, 3);
  });

  it('is [0, 1] with no items and stays inside [0, 1]', () => {
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
    expect(wilson(0, 1).low).toBe(0);
    expect(wilson(1, 1).high).toBe(1);
  });
});

describe('GSM8K scoring against the real test file', () => {
  // The real references of lines 0–4 (read by hand from datasets/gsm8k/test.jsonl): 18, 3, 70000, 540, 20.
  const predictions = [
    { id: '0', prediction: 'She sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = $18.\n#### 18' }, // right
    { id: '1', prediction: 'It takes 2 + 2/2 = 3 bolts. The answer is 3.' }, // right
    { id: '2', prediction: 'His profit is $70,000.00' }, // right
    { id: '3', prediction: 'He runs 3 * 3 * 50 = 450 meters.\nAnswer: 450' }, // wrong (540)
    { id: '4', prediction: 'She needs \\boxed{25} cups.' }, // wrong (20)
  ];

  it('loads 1319 items with line-number ids and #### references', () => {
    const items = loadBenchmark('gsm8k', GSM8K);
    expect(items).toHaveLength(1319);
    expect(items.slice(0, 5).map((i) => [i.id, i.reference])).toEqual([
      ['0', '18'],
      ['1', '3'],
      ['2', '70000'],
      ['3', '540'],
      ['4', '20'],
    ]);
    expect(items[0]!.question).toMatch(/^Janet/);
  });

  it('scores 3 of 5 with the Wilson interval', () => {
    const items = loadBenchmark('gsm8k', GSM8K).slice(0, 5);
    const preds = loadPredictions(file('gsm8k-preds.jsonl', predictions));
    const r = scorePredictions('gsm8k', items, preds);
    expect(r).toMatchObject({ benchmark: 'gsm8k', n: 5, correct: 3, accuracy: 0.6, missing: [] });
    expect(r.ci95.low).toBeCloseTo(0.2307, 3);
    expect(r.ci95.high).toBeCloseTo(0.8824, 3);
    expect(r.items.map((i) => [i.extracted, i.correct])).toEqual([
      ['18', true],
      ['3', true],
      ['70000', true],
      ['450', false],
      ['25', false],
    ]);
  });

  it('gives lines without an id their 0-based line number', () => {
    const path = file('gsm8k-noid.jsonl', predictions.map(({ prediction }) => ({ prediction })));
    expect(loadPredictions(path).map((p) => p.id)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('scores through scoreCommand with the default data: the rest count as missing', async () => {
    const { exitCode, output } = await scoreCommand({ benchmark: 'gsm8k', predictions: file('gsm8k-cmd.jsonl', predictions) });
    expect(exitCode).toBe(0);
    const r = output as ScoreReport;
    expect(r).toMatchObject({ n: 1319, correct: 3 });
    expect(r.accuracy).toBeCloseTo(3 / 1319, 9);
    expect(r.missing).toHaveLength(1314);
    expect(r.missing[0]).toBe('5');
    expect(r.items[5]).toEqual({ id: '5', reference: '64', extracted: null, correct: false });
  });
});

describe('PubMedQA', () => {
  it('restricts the labelled set to the 500 test PMIDs, with contexts in the prompt', () => {
    const items = loadBenchmark('pubmedqa', PUBMEDQA);
    expect(items).toHaveLength(500);
    expect(loadBenchmark('pubmedqa', join(PUBMEDQA, 'ori_pqal.json'))).toHaveLength(500);
    const first = items.find((i) => i.id === '12377809');
    expect(first).toMatchObject({ reference: 'yes', choices: ['yes', 'no', 'maybe'] });
    expect(first!.question).toMatch(/^Dyschesia can be provoked/);
    expect(first!.question).toMatch(/\n\nQuestion: Is anorectal endosonography valuable in dyschesia\?$/);
    expect(first!.question.length).toBeGreaterThan(300);
    const counts = { yes: 0, no: 0, maybe: 0 } as Record<string, number>;
    for (const i of items) counts[i.reference]!++;
    expect(counts).toEqual({ yes: 276, no: 169, maybe: 55 });
  });

  it('scores a mini predictions file (4 of 6 right, 494 missing)', async () => {
    const preds = file('pubmedqa-preds.jsonl', [
      { id: '12377809', prediction: 'Yes.' }, // yes: right
      { id: '26163474', prediction: 'Answer: no' }, // yes: wrong
      { id: '24577079', prediction: 'No, although some said yes.' }, // no: right (leading word)
      { id: '24669960', prediction: 'Weighing it all, the answer is no.' }, // no: right
      { id: 18284441, prediction: 'maybe' }, // maybe: right (numeric id accepted)
      { id: '18802997', prediction: 'The evidence suggests yes' }, // maybe: wrong
    ]);
    const { exitCode, output } = await scoreCommand({ benchmark: 'pubmedqa', predictions: preds });
    expect(exitCode).toBe(0);
    const r = output as ScoreReport;
    expect(r).toMatchObject({ benchmark: 'pubmedqa', n: 500, correct: 4 });
    expect(r.missing).toHaveLength(494);
    const byId = new Map(r.items.map((i) => [i.id, i]));
    expect(byId.get('24577079')).toEqual({ id: '24577079', reference: 'no', extracted: 'no', correct: true });
    expect(byId.get('18802997')).toEqual({ id: '18802997', reference: 'maybe', extracted: 'yes', correct: false });
  });

  it('takes a labelled file without a test split whole, labelled by final_decision', () => {
    const dir = join(tmp, 'pqal');
    mkdirSync(dir);
    const path = join(dir, 'ori_pqal.json');
    writeFileSync(path, JSON.stringify({ 1: { QUESTION: 'Does A cause B?', CONTEXTS: ['ctx one', 'ctx two'], final_decision: 'maybe' }, 2: { QUESTION: 'Is C safe?', CONTEXTS: [], final_decision: 'no' } }));
    const items = loadBenchmark('pubmedqa', path);
    expect(items.map((i) => [i.id, i.reference])).toEqual([
      ['1', 'maybe'],
      ['2', 'no'],
    ]);
    expect(items[0]!.question).toBe('ctx one\n\nctx two\n\nQuestion: Does A cause B?');
  });
});

describe('multiple choice (mcq)', () => {
  const mcq = file('mcq.jsonl', [
    { id: 'q1', question: 'Which is a mammal?', options: { A: 'Shark', B: 'Whale', C: 'Trout' }, answer: 'B' },
    '',
    { question: 'Which is prime?', options: ['4', '6', '7', '9'], answer: '(C)' },
  ]);

  it('loads options as an object or an array, ids from the field or the line', () => {
    const items = loadBenchmark('mcq', mcq);
    expect(items).toEqual([
      { id: 'q1', question: 'Which is a mammal?\nA. Shark\nB. Whale\nC. Trout', reference: 'B', choices: ['A', 'B', 'C'] },
      // Line 2 is blank: the id is still the real 0-based line number.
      { id: '2', question: 'Which is prime?\nA. 4\nB. 6\nC. 7\nD. 9', reference: 'C', choices: ['A', 'B', 'C', 'D'] },
    ]);
  });

  it('scores letters', async () => {
    const preds = file('mcq-preds.jsonl', [
      { id: 'q1', prediction: 'Whales breathe air, so the answer is (B).' },
      { id: '2', prediction: 'D' },
    ]);
    const { exitCode, output } = await scoreCommand({ benchmark: 'mcq', predictions: preds, data: mcq });
    expect(exitCode).toBe(0);
    expect(output).toMatchObject({ n: 2, correct: 1, accuracy: 0.5, items: [{ extracted: 'B', correct: true }, { extracted: 'D', correct: false }] });
  });

  it('names the line of a bad answer or options', () => {
    const bad = file('mcq-bad.jsonl', [{ question: 'q', options: ['x', 'y'], answer: 'A' }, { question: 'q', options: ['x', 'y'], answer: 'C' }]);
    expect(() => loadBenchmark('mcq', bad)).toThrow(/mcq-bad\.jsonl:2: "answer" must be one of the option letters A, B/);
    const badOpts = file('mcq-bad-opts.jsonl', [{ question: 'q', options: 'A or B', answer: 'A' }]);
    expect(() => loadBenchmark('mcq', badOpts)).toThrow(/mcq-bad-opts\.jsonl:1: "options" must be/);
  });
});

describe('GSM-Hard', () => {
  it('reads input/target, keeping float targets to the tolerance', () => {
    const data = file('gsmhard.jsonl', [
      { input: 'Janet has 2,232,132 ducks...', code: 'def solution(): ...', target: 4464264.0 },
      { input: 'Split 5 cakes among 3', code: '...', target: 1.6666666666666667 },
    ]);
    const items = loadBenchmark('gsmhard', data);
    expect(items.map((i) => [i.id, i.reference])).toEqual([
      ['0', '4464264'],
      ['1', '1.6666666666666667'],
    ]);
    const r = scorePredictions('gsmhard', items, [
      { id: '0', prediction: 'She has $4,464,264.' },
      { id: '1', prediction: 'Each gets 5/3 of a cake' },
    ]);
    expect(r.correct).toBe(2);
  });
});

describe('errors', () => {
  const items = [
    { id: '0', question: 'q', reference: '1' },
    { id: '1', question: 'q', reference: '2' },
    { id: '2', question: 'q', reference: '3' },
  ];

  it('lists predictions for unknown ids', () => {
    expect(() => scorePredictions('gsm8k', items, [{ id: '0', prediction: '1' }, { id: '7', prediction: '1' }, { id: 'x', prediction: '1' }])).toThrow(/2 prediction\(s\) for ids not in gsm8k: 7, x/);
  });

  it('refuses two predictions for one id', () => {
    expect(() => scorePredictions('gsm8k', items, [{ id: '1', prediction: '2' }, { id: '1', prediction: '3' }])).toThrow(/more than one prediction for id\(s\): 1/);
  });

  it('counts missing predictions as wrong and lists them', () => {
    const r = scorePredictions('gsm8k', items, [{ id: '1', prediction: 'it is 2' }]);
    expect(r).toMatchObject({ n: 3, correct: 1, missing: ['0', '2'] });
    expect(r.accuracy).toBeCloseTo(1 / 3, 9);
  });

  it('names the line of a broken predictions line or a missing prediction', () => {
    const broken = file('broken-preds.jsonl', [{ id: '0', prediction: '1' }, { id: '1', prediction: '2' }, '{"id": "2", "prediction": oops']);
    expect(() => loadPredictions(broken)).toThrow(/broken-preds\.jsonl:3: invalid JSON line/);
    const noPred = file('nopred.jsonl', [{ id: '0', prediction: '1' }, { id: '1', answer: '2' }]);
    expect(() => loadPredictions(noPred)).toThrow(/nopred\.jsonl:2: no "prediction" string/);
  });

  it('names the line of a broken benchmark line', () => {
    const broken = file('broken-gsm8k.jsonl', [{ question: 'a?', answer: '#### 1' }, '{"question": "b?",']);
    expect(() => loadBenchmark('gsm8k', broken)).toThrow(/broken-gsm8k\.jsonl:2: invalid JSON line/);
    const noAnswer = file('noanswer-gsm8k.jsonl', [{ question: 'a?', answer: '#### 1' }, { question: 'b?', answer: 'just 2' }]);
    expect(() => loadBenchmark('gsm8k', noAnswer)).toThrow(/noanswer-gsm8k\.jsonl:2: "answer" has no "#### <number>" line/);
  });

  it('scoreCommand: --data is required for mcq and gsmhard; bad names and files are reported', async () => {
    const preds = file('any-preds.jsonl', [{ id: '0', prediction: 'A' }]);
    const mcq = await scoreCommand({ benchmark: 'mcq', predictions: preds });
    expect(mcq.exitCode).toBe(2);
    expect((mcq.output as { error: string }).error).toMatch(/--data <file> is required for mcq/);
    expect((await scoreCommand({ benchmark: 'gsmhard', predictions: preds })).output).toMatchObject({ error: expect.stringMatching(/--data <file> is required for gsmhard/) });
    const unknown = await scoreCommand({ benchmark: 'math', predictions: preds });
    expect(unknown).toEqual({ exitCode: 2, output: { error: 'unknown --benchmark "math"; one of: gsm8k, gsmhard, pubmedqa, mcq' } });
    const broken = await scoreCommand({ benchmark: 'gsm8k', predictions: file('cmd-broken.jsonl', ['{"id": "0", "prediction": "1"}', 'nope']) });
    expect(broken.exitCode).toBe(1);
    expect((broken.output as { error: string }).error).toMatch(/cmd-broken\.jsonl:2: invalid JSON line/);
  });
});
