import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfigInput } from '../../common/config.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { CONFIG_DOC, configDocWithReference, runConfigJsonSchema } from '../../scripts/write-schema.js';

const valid: RunConfigInput = {
  runId: 'r1',
  domains: [{ name: 'math', brief: 'b', topics: ['t'] }],
  models: {
    a: { provider: 'openai', model: 'gpt-x', apiKeyEnv: 'OPENAI_API_KEY' },
    b: { provider: 'local', model: 'smollm2-135m' },
    judge: { provider: 'openai', model: 'j', baseURL: 'http://localhost:8000/v1' },
    embedding: { provider: 'local', model: 'use-lite' },
  },
};

function problems(input: unknown): string[] {
  const r = parseRunConfig(input);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('run config schema', () => {
  it('accepts a minimal config and fills documented defaults', () => {
    const r = parseRunConfig(valid);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.generation).toMatchObject({ targetAccepted: 200, maxEpisodes: 1000, concurrency: 4, noveltyThreshold: 0.85 });
    expect(r.config.domains[0]!.benchmark).toBe('none');
    expect(r.config.budget.maxTokens).toBeUndefined();
  });

  it('takes the README\'s vLLM route: endpoint evaluation of local adapters loaded at runtime needs no served name per variant; a command\'s output still does', () => {
    const vllm = { ...valid, domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k' }], finetune: { backend: 'local', baseModel: 'models/Qwen3-4B' }, evaluate: { via: 'endpoint', thinking: false, endpoint: { baseURL: 'http://127.0.0.1:8000/v1', loadAdapters: true } } };
    expect(problems(vllm)).toEqual([]);
    expect(problems({ ...vllm, evaluate: { via: 'endpoint', thinking: false, endpoint: { baseURL: 'http://127.0.0.1:8000/v1' } } })).toEqual([expect.stringContaining('evaluate.endpoint.models.tuned: endpoint evaluation of a local/command fine-tune needs the served model name')]);
    expect(problems({ ...vllm, finetune: { backend: 'command', baseModel: 'm', command: ['train', '{out}'] } })).toEqual([expect.stringContaining('evaluate.endpoint.models.tuned')]);
  });

  it.each([
    ['missing runId', { ...valid, runId: undefined }, 'runId'],
    ['runId not a slug', { ...valid, runId: 'Has Spaces' }, 'runId'],
    ['no domains', { ...valid, domains: [] }, 'domains'],
    ['empty topics', { ...valid, domains: [{ name: 'm', brief: 'b', topics: [] }] }, 'domains[0].topics'],
    ['unknown benchmark', { ...valid, domains: [{ name: 'm', brief: 'b', topics: ['t'], benchmark: 'mmlu' }] }, 'domains[0].benchmark'],
    ['duplicate domains', { ...valid, domains: [valid.domains[0], valid.domains[0]] }, 'domains[1].name'],
    ['unknown provider', { ...valid, models: { ...valid.models, a: { provider: 'anthropic', model: 'x' } } }, 'models.a.provider'],
    ['missing model', { ...valid, models: { ...valid.models, judge: undefined } }, 'models.judge'],
    ['bad baseURL', { ...valid, models: { ...valid.models, a: { provider: 'openai', model: 'x', baseURL: 'not a url' } } }, 'models.a.baseURL'],
    ['a key where an env name belongs', { ...valid, models: { ...valid.models, a: { provider: 'openai', model: 'x', apiKeyEnv: 'sk-abcdef1234567890' } } }, 'models.a.apiKeyEnv'],
    ['negative target', { ...valid, generation: { targetAccepted: -1 } }, 'generation.targetAccepted'],
    ['fractional concurrency', { ...valid, generation: { concurrency: 1.5 } }, 'generation.concurrency'],
    ['threshold above 1', { ...valid, generation: { noveltyThreshold: 1.5 } }, 'generation.noveltyThreshold'],
    ['threshold as string', { ...valid, generation: { noveltyThreshold: '0.9' } }, 'generation.noveltyThreshold'],
    ['negative budget', { ...valid, budget: { maxTokens: -5 } }, 'budget.maxTokens'],
    ['typo in a key', { ...valid, generation: { targetAcepted: 5 } }, 'generation'],
    ['unknown top-level key', { ...valid, extra: true }, '(root)'],
    ['not an object', 'hello', '(root)'],
  ])('refuses %s, naming %s', (_name, input, path) => {
    const p = problems(input);
    expect(p.length).toBeGreaterThan(0);
    expect(p.some((x) => x.startsWith(`${path}:`))).toBe(true);
  });

  it('reports every problem, not just the first', () => {
    const p = problems({ runId: 'X X', domains: [{ name: 'm', brief: '', topics: [] }], models: {} });
    expect(p.length).toBeGreaterThanOrEqual(5);
  });

  it('keeps configs/run-config.schema.json and the configuration reference (docs/configuration.md) in step with the zod schema (npm run schema)', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'configs', 'run-config.schema.json'), 'utf8')).toBe(runConfigJsonSchema());
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(doc, 'docs/configuration.md configuration reference is stale: run npm run schema').toBe(configDocWithReference());
    expect(doc).toContain('| `finetune.backend` | `local` \\| `openai` \\| `command` | `"local"` |');
  });

  it('every shipped config is valid', () => {
    const files = readdirSync(join(PROJECT_ROOT, 'configs')).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(problems(JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', f), 'utf8'))), f).toEqual([]);
  });
});
