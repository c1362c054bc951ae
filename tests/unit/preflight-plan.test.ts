import { describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig } from '../../common/config.js';
import { preflightPlan, problemLines } from '../../workflows/logic/preflight.js';

const parse = (raw: unknown): RunConfig => {
  const r = parseRunConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
};
const model = (name: string, extra: Record<string, unknown> = {}) => ({ provider: 'openai', model: name, baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'K', ...extra });
const base = (over: Record<string, unknown> = {}) => ({
  runId: 'r',
  domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k', pack: 'math' }],
  models: { a: model('m'), b: model('m'), judge: model('j'), embedding: model('e') },
  ...over,
});

describe('preflightPlan', () => {
  it('checks each chat model once, with tools where the Judge uses it', () => {
    const plan = preflightPlan(parse(base()));
    expect(plan.models.models.map((m) => [m.roles, m.ref.model, m.tools])).toEqual([
      [['a', 'b'], 'm', false],
      [['judge'], 'j', true],
    ]);
    expect(plan.models.packs).toEqual(['math']);
    expect(plan.store.embedding.model).toBe('e');
  });
  it('one ref for every role is one check, with tools', () => {
    const plan = preflightPlan(parse(base({ models: { a: model('x'), b: model('x'), judge: model('x'), embedding: model('e') } })));
    expect(plan.models.models).toHaveLength(1);
    expect(plan.models.models[0]).toMatchObject({ roles: ['a', 'b', 'judge'], tools: true });
  });
  it('refs differing in anything (a temperature) are checked apart', () => {
    const plan = preflightPlan(parse(base({ models: { a: model('x'), b: model('x', { temperature: 0.5 }), judge: model('x'), embedding: model('e') } })));
    expect(plan.models.models).toHaveLength(2);
  });
  it('lists the decontamination sets, and evaluation benchmarks only when the evaluate stage is on', () => {
    const twoDomains = {
      domains: [
        { name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k', pack: 'math' },
        { name: 'med', brief: 'b', topics: ['t'], benchmark: 'pubmedqa', pack: 'medical' },
        { name: 'free', brief: 'b', topics: ['t'] },
      ],
    };
    expect(preflightPlan(parse(base(twoDomains))).store.benchmarks).toEqual([
      { name: 'gsm8k', use: 'decontamination' },
      { name: 'pubmedqa', use: 'decontamination' },
    ]);
    const withEval = parse(base({ domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k' }], evaluate: {}, finetune: { backend: 'local', baseModel: 'student' } }));
    expect(preflightPlan(withEval).store.benchmarks).toEqual([
      { name: 'gsm8k', use: 'decontamination' },
      { name: 'gsm8k', use: 'evaluation' },
    ]);
    expect(preflightPlan(withEval).store.packs).toEqual(['none']);
  });
  it('says each problem on one line with its subject', () => {
    expect(problemLines([{ check: 'key', subject: 'judge (openai:j)', type: 'MissingApiKey', message: 'environment variable K is not set' }])).toEqual(['judge (openai:j): environment variable K is not set']);
  });
});
