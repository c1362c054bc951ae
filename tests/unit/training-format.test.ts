import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AblationSchema, DomainSchema, EvaluateSchema, FineTuneSchema, parseRunConfig, type RunConfigInput } from '../../common/config.js';
import type { FineTuneResult, TrainingExample } from '../../common/contracts/index.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { createStageActivities } from '../../activities/stages/activities.js';
import { afterThinking } from '../../activities/stages/eval/score.js';
import * as L from '../../activities/stages/layout.js';
import { ANSWER_ONLY_SYSTEM_PROMPT, assistantTurn, baselineRows, nanofluxTrainingRows, trainingPlan } from '../../activities/stages/training-data.js';
import { SYSTEM_PROMPT } from '../../activities/dataset/formats.js';
import { renderMarkdown } from '../../activities/stages/report/report.js';
import { testConfig } from '../support/game-script.js';
import { runInput, score, trained } from '../support/report-variants.js';

/**
 * Format parity (issue 14, item 2): the NanoFlux set and every baseline of a domain are written in
 * one template — system prompt, user turn (the question, then the evaluation's instruction), answer
 * format — and evaluation asks in that template; and the annotation's place (item 5).
 */

const dir = mkdtempSync(join(tmpdir(), 'nanoflux-format-'));

function example(i: number, answer: string, over: Partial<TrainingExample> = {}): TrainingExample {
  return {
    id: `r/d/ep-${i}`, question: `NanoFlux question ${i}?`, solutionSteps: ['3 * 4 = 12', '2) 12 + 1 = 13'], answer, annotation: 'The trap: adding before multiplying.',
    domain: 'd', skill: 'k', complexity: 1 + (i % 3), hops: 2, quality: 4, qualityLevel: 'L4', novelty: 0.2,
    provenance: { runId: 'r', episode: i, workflowId: `w${i}`, attackerModel: 'a', defenderModel: 'b', judgeModel: 'j' },
    ...over,
  };
}

const jsonl = (name: string, rows: unknown[]) => {
  const f = join(dir, name);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
};

type Row = { messages: { role: string; content: string }[] };
const readRows = (path: string): Row[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

/** A run home with `examples` exported for domain d, the domain's stages prepared; its training files and first eval batch. */
async function prepared(domain: unknown, training: unknown, examples: TrainingExample[]) {
  const home = mkdtempSync(join(dir, 'home-'));
  mkdirSync(join(home, 'runs', 'r'), { recursive: true });
  writeFileSync(join(home, 'runs', 'r', 'examples.jsonl'), examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const acts = createStageActivities({ home, datasetsDir: join(PROJECT_ROOT, 'datasets'), fineTuneBackend: () => { throw new Error('not trained here'); } });
  const d = DomainSchema.parse(domain);
  const finetune = FineTuneSchema.parse({ baseModel: 'smollm2-135m', ...(training ? { training } : {}) });
  await acts.prepareDomainStage({ runId: 'r', domain: d, evaluate: EvaluateSchema.parse({ limit: 2 }), finetune });
  const train = (v: string) => readRows(L.trainDataPath(home, 'r', 'd', v));
  const evalItems = readFileSync(L.evalBatchPath(home, 'r', 'd', 0), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; system: string; prompt: string });
  return { home, acts, train, evalItems };
}

/** The instruction a prompt adds after its question: the template's, the same for every row of a domain. */
const instruction = (prompt: string, question: string) => {
  expect(prompt.startsWith(`${question}\n\n`)).toBe(true);
  return prompt.slice(question.length + 2);
};

/** Every row of every training file and every evaluation item of a domain share one system prompt and one instruction. */
function expectOneTemplate(files: Row[][], questions: string[][], evalItems: { system: string; prompt: string }[], evalQuestions: string[]) {
  const systems = new Set<string>();
  const instructions = new Set<string>();
  files.forEach((rows, f) =>
    rows.forEach((r, i) => {
      expect(r.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
      systems.add(r.messages[0]!.content);
      instructions.add(instruction(r.messages[1]!.content, questions[f]![i]!));
    }),
  );
  evalItems.forEach((item, i) => {
    systems.add(item.system);
    instructions.add(instruction(item.prompt, evalQuestions[i]!));
  });
  expect([...systems]).toHaveLength(1);
  expect([...instructions]).toHaveLength(1);
  return { system: [...systems][0]!, instruction: [...instructions][0]! };
}

const gsmTest = readFileSync(join(PROJECT_ROOT, 'datasets', 'gsm8k', 'test.jsonl'), 'utf8').trim().split('\n').slice(0, 2).map((l) => (JSON.parse(l) as { question: string }).question);

describe('format parity of the NanoFlux set and its baselines', () => {
  const gsmTrain = jsonl('gsm-train.jsonl', [
    { question: 'Tom has 3 bags of 4 apples. How many?', answer: 'He has 3*4=<<3*4=12>>12 apples.\n#### 12' },
    { question: 'Half of 10?', answer: 'Half of 10 is <<10/2=5>>5.\n#### 5' },
  ]);
  const gsmDomain = { name: 'd', brief: 'b', topics: ['t'], benchmark: 'gsm8k', baselines: [{ name: 'full-train', data: gsmTrain, format: 'gsm8k' }] };

  it('gsm8k: both with their rationales, in one template shared with evaluation (auto)', async () => {
    const { train, evalItems } = await prepared(gsmDomain, undefined, [example(1, '13'), example(2, '7')]);
    const tuned = train('tuned');
    const full = train('full-train');
    const t = expectOneTemplate([tuned, full], [['NanoFlux question 1?', 'NanoFlux question 2?'], ['Tom has 3 bags of 4 apples. How many?', 'Half of 10?']], evalItems, gsmTest);
    expect(t.system).toBe(SYSTEM_PROMPT);
    expect(t.instruction).toBe('Solve the problem step by step, then give the final answer on its own line as "Answer: <number>".');
    expect(tuned[0]!.messages[2]!.content).toBe('1. 3 * 4 = 12\n2. 12 + 1 = 13\n\nAnswer: 13');
    expect(full[0]!.messages[2]!.content).toBe('He has 3*4=12 apples.\n\nAnswer: 12');
  });

  it('gsm8k answer-only when configured: both lose their steps, and evaluation asks for the answer alone', async () => {
    const { train, evalItems } = await prepared(gsmDomain, { answerFormat: 'answer-only' }, [example(1, '13')]);
    const t = expectOneTemplate([train('tuned'), train('full-train')], [['NanoFlux question 1?'], ['Tom has 3 bags of 4 apples. How many?', 'Half of 10?']], evalItems, gsmTest);
    expect(t.system).toBe(ANSWER_ONLY_SYSTEM_PROMPT);
    expect(t.instruction).toBe('Give only the final answer, as "Answer: <number>".');
    expect(train('tuned')[0]!.messages[2]!.content).toBe('Answer: 13');
    expect(train('full-train').map((r) => r.messages[2]!.content)).toEqual(['Answer: 12', 'Answer: 5']);
  });

  it('mcq: the baseline has only the key, so auto trains both answer-only', async () => {
    const item = (q: string, answer: string) => ({ question: q, options: { A: 'Thiazide', B: 'Nitrate' }, answer });
    const test = jsonl('mcq-test.jsonl', [item('First-line for hypertension?', 'A'), item('Which is a vasodilator?', 'B')]);
    const trainFile = jsonl('mcq-train.jsonl', [item('Which lowers blood pressure?', 'A')]);
    const domain = { name: 'd', brief: 'b', topics: ['t'], evaluation: { benchmark: 'mcq' as const, data: test }, baselines: [{ name: 'full-train', data: trainFile, format: 'mcq' as const }] };
    const { train, evalItems } = await prepared(domain, undefined, [example(1, 'B', { question: 'Which drug?\nA. Statin\nB. Nitrate' })]);
    const t = expectOneTemplate([train('tuned'), train('full-train')], [['Which drug?\nA. Statin\nB. Nitrate'], ['Which lowers blood pressure?\nA. Thiazide\nB. Nitrate']], evalItems, [
      'First-line for hypertension?\nA. Thiazide\nB. Nitrate',
      'Which is a vasodilator?\nA. Thiazide\nB. Nitrate',
    ]);
    expect(t.instruction).toBe('Choose one option: reply "Answer: <letter>" only.');
    expect(train('tuned')[0]!.messages[2]!.content).toBe('Answer: B');
    expect(train('full-train')[0]!.messages[2]!.content).toBe('Answer: A');
    // Reasoning cannot be had from an answer key: refused by the config and by the file writer.
    const problems = configProblems({ domains: [{ ...domain, baselines: [{ name: 'full-train', data: trainFile, format: 'mcq' }] }], finetune: { baseModel: 'm', training: { answerFormat: 'reasoning' } } });
    expect(problems).toContain('domains[0].baselines[0].format: an mcq baseline has no rationales to train reasoning on; set finetune.training.answerFormat "answer-only" or "auto", or give it as chat rows with reasoning');
    expect(() => baselineRows({ name: 'full-train', data: trainFile, format: 'mcq' }, trainFile, trainingPlan({ answerFormat: 'reasoning', annotation: 'omit', match: 'epochs', thinking: false }, 'mcq', []))).toThrow(/no rationales/);
  });

  it('pubmedqa with a chat baseline: reasoning or answer-only as configured, the chat rows rewritten in the template', async () => {
    const chat = jsonl('pubmed-chat.jsonl', [
      { messages: [{ role: 'system', content: 'You are a doctor.' }, { role: 'user', content: 'Does aspirin thin blood?' }, { role: 'assistant', content: 'It inhibits platelets.\nAnswer: yes' }] },
    ]);
    const domain = { name: 'd', brief: 'b', topics: ['t'], benchmark: 'pubmedqa', baselines: [{ name: 'pubmed-train', data: chat, format: 'chat' }] };
    const nano = [example(1, 'no', { question: 'Is X curative?', solutionSteps: ['The trial was negative.'] })];
    const reasoning = await prepared(domain, { answerFormat: 'reasoning' }, nano);
    const r = expectOneTemplate([reasoning.train('tuned'), reasoning.train('pubmed-train')], [['Is X curative?'], ['Does aspirin thin blood?']], reasoning.evalItems, reasoning.evalItems.map((i) => i.prompt.split('\n\nAnswer the question')[0]!));
    expect(r.instruction).toBe('Answer the question with yes, no or maybe. Reason briefly, then end with "Answer: yes", "Answer: no" or "Answer: maybe".');
    expect(reasoning.train('tuned')[0]!.messages[2]!.content).toBe('1. The trial was negative.\n\nAnswer: no');
    expect(reasoning.train('pubmed-train')[0]!.messages[2]!.content).toBe('It inhibits platelets.\n\nAnswer: yes');

    const answerOnly = await prepared(domain, { answerFormat: 'answer-only' }, nano);
    const a = expectOneTemplate([answerOnly.train('tuned'), answerOnly.train('pubmed-train')], [['Is X curative?'], ['Does aspirin thin blood?']], answerOnly.evalItems, answerOnly.evalItems.map((i) => i.prompt.split('\n\nAnswer the question')[0]!));
    expect(a.instruction).toBe('Answer the question with yes, no or maybe: reply "Answer: yes", "Answer: no" or "Answer: maybe" only.');
    expect(answerOnly.train('tuned')[0]!.messages[2]!.content).toBe('Answer: no');
    expect(answerOnly.train('pubmed-train')[0]!.messages[2]!.content).toBe('Answer: yes');
  });

  it('refuses a chat baseline row it cannot put in the template, naming the line', () => {
    const multi = jsonl('chat-multi.jsonl', [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'Answer: 1' }, { role: 'user', content: 'b' }, { role: 'assistant', content: 'Answer: 2' }] }]);
    expect(() => baselineRows({ name: 'b', data: multi, format: 'chat' }, multi)).toThrow(/chat-multi\.jsonl:1: expected one user turn and one assistant turn/);
    const noAnswer = jsonl('chat-noanswer.jsonl', [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'It is 1.' }] }]);
    expect(() => baselineRows({ name: 'b', data: noAnswer, format: 'chat' }, noAnswer)).toThrow(/chat-noanswer\.jsonl:1: the assistant turn must end with an "Answer: …" line/);
  });
});

describe("the annotation's place in the assistant turn", () => {
  const e = example(1, '13');
  const turn = (annotation: 'omit' | 'prepend' | 'append', thinking = false, answerFormat: 'reasoning' | 'answer-only' = 'reasoning') =>
    nanofluxTrainingRows([e], { benchmark: 'gsm8k', answerFormat, annotation, thinking })[0]!.messages[2]!.content;

  it('omit, prepend, append: exact text', () => {
    expect(turn('omit')).toBe('1. 3 * 4 = 12\n2. 12 + 1 = 13\n\nAnswer: 13');
    expect(turn('prepend')).toBe('The trap: adding before multiplying.\n\n1. 3 * 4 = 12\n2. 12 + 1 = 13\n\nAnswer: 13');
    expect(turn('append')).toBe('1. 3 * 4 = 12\n2. 12 + 1 = 13\n\nAnswer: 13\n\nThe trap: adding before multiplying.');
    expect(turn('prepend', false, 'answer-only')).toBe('The trap: adding before multiplying.\n\nAnswer: 13');
    expect(turn('append', false, 'answer-only')).toBe('Answer: 13\n\nThe trap: adding before multiplying.');
  });

  it('with thinking: what precedes the answer is the think block, an empty one when nothing does', () => {
    expect(turn('omit', true)).toBe('<think>\n1. 3 * 4 = 12\n2. 12 + 1 = 13\n</think>\n\nAnswer: 13');
    expect(turn('prepend', true)).toBe('<think>\nThe trap: adding before multiplying.\n\n1. 3 * 4 = 12\n2. 12 + 1 = 13\n</think>\n\nAnswer: 13');
    expect(turn('append', true)).toBe('<think>\n1. 3 * 4 = 12\n2. 12 + 1 = 13\n</think>\n\nAnswer: 13\n\nThe trap: adding before multiplying.');
    expect(turn('omit', true, 'answer-only')).toBe('<think>\n\n</think>\n\nAnswer: 13');
  });

  it('an empty annotation adds nothing, and a baseline never has one', () => {
    const plan = { benchmark: 'gsm8k' as const, answerFormat: 'reasoning' as const, annotation: 'prepend' as const, thinking: false };
    expect(assistantTurn({ steps: 's', answer: '1', annotation: '  ' }, plan)).toBe('s\n\nAnswer: 1');
    const f = jsonl('gsm-one.jsonl', [{ question: 'q', answer: 'two\n#### 2' }]);
    expect(baselineRows({ name: 'b', data: f, format: 'gsm8k' }, f, plan)[0]!.messages[2]!.content).toBe('two\n\nAnswer: 2');
  });

  it("the annotation axis: the whole set once per placement, each cut's file differing in the annotation only", async () => {
    const set = Array.from({ length: 6 }, (_, i) => example(i, String(i)));
    const { home, acts } = await prepared({ name: 'd', brief: 'b', topics: ['t'], benchmark: 'gsm8k' }, { annotation: 'append' }, set);
    const { cuts, skipped } = await acts.cutAblation({ runId: 'r', domain: 'd', ablation: AblationSchema.parse({ axes: ['annotation'], seeds: 2, minExamples: 3 }) });
    expect(skipped).toEqual([]);
    expect(cuts.map((c) => [c.variant, c.trainExamples, c.cut?.value])).toEqual([
      ['ablation-annotation-omit-s1', 6, 'omit'], ['ablation-annotation-omit-s2', 6, 'omit'],
      ['ablation-annotation-prepend-s1', 6, 'prepend'], ['ablation-annotation-prepend-s2', 6, 'prepend'],
      ['ablation-annotation-append-s1', 6, 'append'], ['ablation-annotation-append-s2', 6, 'append'],
    ]);
    const file = (v: string) => readRows(L.trainDataPath(home, 'r', 'd', v));
    const strip = (rows: Row[]) => rows.map((r) => r.messages[2]!.content.replace('The trap: adding before multiplying.', '').trim());
    const [omit, prepend, append] = ['omit', 'prepend', 'append'].map((p) => file(`ablation-annotation-${p}-s1`));
    expect(strip(prepend!)).toEqual(strip(omit!));
    expect(strip(append!)).toEqual(strip(omit!));
    expect(prepend!.map((r) => r.messages.slice(0, 2))).toEqual(omit!.map((r) => r.messages.slice(0, 2)));
    expect(omit!.every((r) => !r.messages[2]!.content.includes('trap'))).toBe(true);
    expect(prepend!.every((r) => r.messages[2]!.content.startsWith('The trap:'))).toBe(true);
    expect(append!.every((r) => r.messages[2]!.content.endsWith('The trap: adding before multiplying.'))).toBe(true);
    // Under minExamples the whole axis is skipped, each placement named.
    const few = await acts.cutAblation({ runId: 'r', domain: 'd', ablation: AblationSchema.parse({ axes: ['annotation'], seeds: 1, minExamples: 10 }) });
    expect(few.skipped).toEqual(['omit', 'prepend', 'append'].map((p) => ({ variant: `ablation-annotation-${p}`, reason: '6 examples < minExamples 10' })));
  });
});

function configProblems(over: Partial<RunConfigInput>): string[] {
  const r = parseRunConfig({ ...testConfig('http://127.0.0.1:9/v1', 'r'), ...over });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('finetune.training and evaluate.thinking in the config', () => {
  const domains = [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k' as const }];

  it("defaults to today's behaviour, and the default ablation axes leave the annotation out", () => {
    const r = parseRunConfig({ ...testConfig('http://127.0.0.1:9/v1', 'r'), domains, finetune: { baseModel: 'm' }, evaluate: {}, ablation: {} });
    expect(r.ok && r.config.finetune?.training).toEqual({ answerFormat: 'auto', annotation: 'omit', match: 'epochs', thinking: false });
    expect(r.ok && r.config.evaluate?.thinking).toBeUndefined();
    expect(r.ok && r.config.ablation?.axes).toEqual(['complexity', 'quality', 'size']);
  });

  it('refuses what cannot be trained or evaluated as asked, naming the field', () => {
    expect(configProblems({ domains, finetune: { backend: 'openai', baseModel: 'gpt-4o-mini', training: { match: 'tokens' } } })).toEqual([
      'finetune.training.match: only the local trainer counts training tokens to match (backend is openai); use match "epochs"',
    ]);
    expect(configProblems({ domains, finetune: { backend: 'openai', baseModel: 'gpt-4o-mini', training: { thinking: true } } })).toEqual([
      'finetune.training.thinking: thinking is the chat-template switch of a local or command student; the openai backend has none',
    ]);
    expect(configProblems({ domains, finetune: { baseModel: 'm', training: { thinking: true } }, evaluate: { thinking: false } })).toEqual([
      'evaluate.thinking: the student is trained with thinking on (finetune.training.thinking); evaluate it in the same mode',
    ]);
    const endpoint = { via: 'endpoint' as const, endpoint: { baseURL: 'http://127.0.0.1:9/v1', models: { tuned: 'served-tuned' } } };
    expect(configProblems({ domains, finetune: { baseModel: 'models/Qwen3-4B' }, evaluate: endpoint })).toEqual([
      'evaluate.thinking: set it for a Qwen3 model student served at an endpoint (false, as trained): unset, the server\'s template decides',
    ]);
    expect(configProblems({ domains, finetune: { baseModel: 'models/Qwen3-4B' }, evaluate: { ...endpoint, thinking: false } })).toEqual([]);
    expect(configProblems({ domains, finetune: { baseModel: 'models/Llama-3.2-1B' }, evaluate: endpoint })).toEqual([]);
  });
});

describe('scoring a thinking model', () => {
  it('reads the answer after the think block, and none from a think block cut off', () => {
    expect(afterThinking('<think>\nMaybe Answer: 5?\n</think>\n\nAnswer: 7')).toBe('\n\nAnswer: 7');
    expect(afterThinking('<think>\nAnswer: 5, and then I ran out of tok')).toBe('');
    expect(afterThinking('Steps.\nAnswer: 7')).toBe('Steps.\nAnswer: 7');
  });
});

describe("the report names how the baseline's length was matched", () => {
  const compute = (budget: FineTuneResult['budget']) => {
    const input = runInput();
    const variants = input.variants.map((v) => (v.variant === 'full-train' ? score('full-train', 104, { train: trained({ trainTokens: 9000, wallSeconds: 190, budget }) }) : v));
    return renderMarkdown({ ...input, variants }, []).split('\n').find((l) => l.startsWith('- Training compute'));
  };

  it('the same epochs, or tuned\'s token budget, or nothing for a result from before it was recorded', () => {
    const ratio = '- Training compute (fine-tune only), full-train ÷ NanoFlux: 9.0× the fine-tune tokens, 3.2× the fine-tune wall time, fine-tune device-hours not measured (full-train: the trainer recorded no hardware)';
    expect(compute({ by: 'epochs', epochs: 3 })).toBe(`${ratio}; trained for the same 3 epochs as tuned (training.match "epochs").`);
    expect(compute({ by: 'tokens', tokens: 1012, of: 'tuned' })).toBe(`${ratio}; trained to tuned's token budget (1,012 tokens, training.match "tokens").`);
    expect(compute(undefined)).toBe(`${ratio}.`);
  });
});
