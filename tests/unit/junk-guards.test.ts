import { describe, expect, it } from 'vitest';
import { ngrams, promptOverlap } from '../../common/prompt-overlap.js';
import { type AnswerKind, answerKind, correctByRule, statedOptions } from '../../common/answer-kind.js';
import { screenAttack } from '../../workflows/logic/junk.js';

const good = {
  question: 'A shop sells pens at $3 each and gives 1 free pen for every 4 bought. How many pens does Ana get for $36?',
  referenceAnswer: '15',
  solutionSteps: ['$36 / $3 = 12 pens bought.', '12 / 4 = 3 free pens.', '12 + 3 = 15 pens.'],
};
const none = { share: 0 };

describe('screenAttack: junk guards before the Defender is called', () => {
  it('lets a well-formed math attack through', () => {
    expect(screenAttack('math', good, none)).toBeNull();
  });

  it('prompt_leak: the demo\'s real junk (instructions as the question, template text as the answer)', () => {
    const leaked = { question: 'Aim at a skill the Defender fails on', referenceAnswer: '1. The answer comes from the question. It does exist in fact. 2. Question: 3. {{response}}}, {reason}', solutionSteps: ['1.'] };
    expect(screenAttack('math', leaked, none)?.reason).toBe('prompt_leak');
  });

  it.each([
    ['a placeholder', { ...good, solutionSteps: ['{{question}}', '12 + 3 = 15'] }],
    ['a single-brace placeholder', { ...good, referenceAnswer: '{reason}' }],
    ['a data fence', { ...good, question: `${good.question} <<<QUESTION` }],
    ['"Answer in JSON"', { ...good, solutionSteps: ['Answer in JSON only, with the fields', '12 + 3 = 15'] }],
    ['a field name', { ...good, solutionSteps: ['referenceAnswer: 15', '12 + 3 = 15'] }],
    ['a role header', { ...good, question: `ROLE: attacker ${good.question}` }],
  ])('prompt_leak: %s', (_, attack) => {
    expect(screenAttack('math', attack, none)?.reason).toBe('prompt_leak');
  });

  it('prompt_leak: a high share of phrases from the role prompts, measured by 6-grams', () => {
    const prompt = 'You write ONE hard, self-contained question that a strong model is likely to get wrong, together with its verified reference answer.';
    const grams = new Set(ngrams(prompt, 6));
    const attack = { question: 'You write one hard self contained question that a strong model is likely to get wrong. How many?', referenceAnswer: '3', solutionSteps: ['3 apples plus nothing is 3.'] };
    const overlap = promptOverlap(attack, grams);
    expect(overlap.share).toBeGreaterThan(0.3);
    expect(overlap.example).toBe('you write one hard self contained');
    expect(screenAttack('math', attack, overlap)?.reason).toBe('prompt_leak');
    expect(promptOverlap(good, grams).share).toBe(0);
  });

  it('prompt_leak: the question alone is measured too, so steps after a read-back instruction do not dilute it', () => {
    const notes = 'Math: exact arithmetic matters. Prefer exact_arithmetic or python with fractions over floating point; check equations with check_equation.';
    const grams = new Set(ngrams(notes, 6));
    const attack = { question: 'Math: exact arithmetic matters. Prefer exact_arithmetic or python with fractions over floating point. What is 3/4 + 1/8?', referenceAnswer: '7/8', solutionSteps: ['3/4 = 6/8, and 6/8 + 1/8 = 7/8 in lowest terms, so that is the sum we want.'] };
    const whole = ngrams([attack.question, ...attack.solutionSteps].join('\n'), 6);
    expect(whole.filter((g) => grams.has(g)).length / whole.length).toBeLessThanOrEqual(0.3);
    expect(promptOverlap(attack, grams).share).toBeCloseTo(0.6);
    expect(screenAttack('math', attack, promptOverlap(attack, grams))?.reason).toBe('prompt_leak');
  });

  it.each([
    ['empty steps', ['', '  ']],
    ['numbering only', ['1.', '2.']],
    ['a bare label', ['Question:', '12 + 3 = 15']],
    ['the same step again and again', ['Add the numbers.', 'add the numbers.', 'Add the numbers.']],
  ])('degenerate_steps: %s', (_, solutionSteps) => {
    expect(screenAttack('math', { ...good, solutionSteps }, none)?.reason).toBe('degenerate_steps');
  });

  it('repeated_tokens: a word four times in a row, a word dominating, a looping phrase', () => {
    expect(screenAttack('math', { ...good, solutionSteps: ['the the the the answer is 15'] }, none)?.reason).toBe('repeated_tokens');
    const loop = Array.from({ length: 12 }, () => 'add three more apples').join(' ');
    expect(screenAttack('math', { ...good, solutionSteps: [loop] }, none)?.reason).toBe('repeated_tokens');
  });

  it('no_question: a statement, or too few words', () => {
    expect(screenAttack('math', { ...good, question: 'There are 12 pens and 3 free pens in the shop today.' }, none)?.reason).toBe('no_question');
    expect(screenAttack('math', { ...good, question: 'How many?' }, none)?.reason).toBe('no_question');
  });

  it('answer_unparseable: math needs a number; stated options need one of them', () => {
    expect(screenAttack('math', { ...good, referenceAnswer: 'It depends on the pens' }, none)?.reason).toBe('answer_unparseable');
    const mcq = { question: 'Which drug is first-line for uncomplicated hypertension in this patient?\nA. Thiazide\nB. Beta blocker\nC. Nitrate', referenceAnswer: 'D', solutionSteps: ['Guidelines favour thiazides first.'] };
    expect(screenAttack('medical', mcq, none)?.reason).toBe('answer_unparseable');
    expect(screenAttack('medical', { ...mcq, referenceAnswer: 'A' }, none)).toBeNull();
    // Outside math, a free-text answer is the Judge's to check.
    expect(screenAttack('genomics', { question: 'Which enzyme joins Okazaki fragments during DNA replication?', referenceAnswer: 'DNA ligase', solutionSteps: ['Ligase seals nicks between fragments.'] }, none)).toBeNull();
  });
});

describe('answer kinds and correctness by rule', () => {
  it('reads stated options: lettered lines from A in order, or yes/no/maybe', () => {
    expect(statedOptions('Q?\nA. one\nB. two\nC. three')).toEqual(['A', 'B', 'C']);
    expect(statedOptions('Q?\n(A) one\n(B) two')).toEqual(['A', 'B']);
    expect(statedOptions('Q?\nB. two\nC. three')).toBeUndefined();
    expect(statedOptions('Does aspirin reduce risk? Answer yes, no, or maybe.')).toEqual(['yes', 'no', 'maybe']);
    expect(statedOptions('Answer yes or no: is 7 prime?')).toEqual(['yes', 'no']);
    expect(statedOptions('How many apples are left?')).toBeUndefined();
  });

  it('a numeric reference is one number, with at most a short unit', () => {
    expect(answerKind('math', good.question, '$1,200')).toEqual({ kind: 'numeric', reference: '1200' });
    expect(answerKind('math', good.question, '42 apples')).toEqual({ kind: 'numeric', reference: '42' });
    expect(answerKind('math', good.question, 'The answer comes from 3 steps and 4 more ideas here')).toHaveProperty('unparseable');
    expect(answerKind('medical', 'Is it safe? Answer yes, no, or maybe.', 'Yes')).toEqual({ kind: 'options', choices: ['yes', 'no', 'maybe'], reference: 'yes' });
    expect(answerKind('genomics', 'Which base pairs with adenine in DNA?', 'thymine')).toEqual({ kind: 'free' });
  });

  it('decides the Defender by number or option, and leaves prose to the Judge', () => {
    const num = { kind: 'numeric', reference: '15' } as const;
    expect(correctByRule(num, 'So Ana gets 15 pens.')).toBe(true);
    expect(correctByRule(num, '15.0')).toBe(true);
    expect(correctByRule(num, '16')).toBe(false);
    expect(correctByRule(num, 'fifteen')).toBeUndefined();
    const opt: AnswerKind = { kind: 'options', choices: ['A', 'B', 'C'], reference: 'A' };
    expect(correctByRule(opt, 'Answer: A')).toBe(true);
    expect(correctByRule(opt, '(B) because …')).toBe(false);
    expect(correctByRule(opt, 'none of these')).toBe(false);
    expect(correctByRule({ kind: 'free' }, 'DNA ligase')).toBeUndefined();
  });
});

describe('the guards on real questions', () => {
  it('let through at least 99% of 500 GSM8K train items (question, steps, final answer as an attack)', async () => {
    const { readJsonl } = await import('../../activities/kit/files.js');
    const rows = readJsonl(new URL('../../datasets/gsm8k/train.jsonl', import.meta.url).pathname).slice(0, 500) as { question: string; answer: string }[];
    const rejected = rows
      .map((r) => {
        const [work, final] = r.answer.split('####');
        const solutionSteps = work!.replace(/<<[^>]*>>/g, '').split('\n').map((s) => s.trim()).filter(Boolean);
        return { attack: { question: r.question, referenceAnswer: final!.trim(), solutionSteps }, verdict: screenAttack('math', { question: r.question, referenceAnswer: final!.trim(), solutionSteps }, { share: 0 }) };
      })
      .filter((r) => r.verdict !== null);
    expect(rejected.length, JSON.stringify(rejected.slice(0, 5), null, 1)).toBeLessThanOrEqual(5);
  });
});
