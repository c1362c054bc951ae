import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../common/config.js';
import { baseName, chatParameters, dialectOf, familyOf, settingProblems, takesTemperature, tokenLimitOf } from '../../common/model-capabilities.js';

const OPENROUTER = 'https://openrouter.ai/api/v1';
const VLLM = 'http://localhost:8000/v1';
const DASHSCOPE = 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1';

describe('model families', () => {
  it.each([
    ['o1', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['o1-mini', 'openai-o', 'no', []],
    ['o1-preview-2024-09-12', 'openai-o', 'no', []],
    ['o3', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['o3-mini', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['o3-pro', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['o4-mini', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['o4-mini-2025-04-16', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['openai/o4-mini', 'openai-o', 'no', ['low', 'medium', 'high']],
    ['gpt-5', 'gpt-5', 'no', ['minimal', 'low', 'medium', 'high']],
    ['gpt-5-mini', 'gpt-5', 'no', ['minimal', 'low', 'medium', 'high']],
    ['gpt-5-nano-2025-08-07', 'gpt-5', 'no', ['minimal', 'low', 'medium', 'high']],
    ['gpt-5-pro', 'gpt-5', 'no', ['high']],
    ['gpt-5.1', 'gpt-5.x', 'without-reasoning', ['none', 'low', 'medium', 'high']],
    ['gpt-5.2-mini', 'gpt-5.x', 'without-reasoning', ['none', 'low', 'medium', 'high']],
    ['gpt-5-chat-latest', 'gpt-5-chat', 'yes', []],
    ['gpt-5.1-chat-latest', 'gpt-5-chat', 'yes', []],
    ['gpt-4.1', 'gpt-4', 'yes', []],
    ['gpt-4.1-mini', 'gpt-4', 'yes', []],
    ['gpt-4o', 'gpt-4', 'yes', []],
    ['gpt-4o-mini-2024-07-18', 'gpt-4', 'yes', []],
    ['chatgpt-4o-latest', 'gpt-4', 'yes', []],
    ['gpt-3.5-turbo', 'gpt-4', 'yes', []],
    ['ft:gpt-4o-mini-2024-07-18:org::abc123', 'gpt-4', 'yes', []],
    ['anthropic/claude-sonnet-4', 'claude', 'yes', null],
    ['claude-3-7-sonnet-latest', 'claude', 'yes', null],
    ['qwen/qwen3-235b-a22b', 'qwen3', 'yes', null],
    ['Qwen/Qwen3-4B', 'qwen3', 'yes', null],
    ['models/Qwen3-4B-Q4_K_M.gguf', 'qwen3', 'yes', null],
    ['Qwen2.5-7B-Instruct', 'other', 'yes', null],
    ['olmo-2-7b', 'other', 'yes', null],
    ['o10-nonsense', 'other', 'yes', null],
    ['gpt-50', 'other', 'yes', null],
    ['llama-3.1-8b-instruct', 'other', 'yes', null],
    ['smollm2-135m', 'other', 'yes', null],
  ])('%s → %s (temperature %s, efforts %j)', (model, name, temperature, efforts) => {
    const f = familyOf(model);
    expect(f.name).toBe(name);
    expect(f.temperature).toBe(temperature);
    expect(f.efforts).toEqual(efforts);
    expect(f.thinkingSwitch).toBe(name === 'qwen3');
    expect(f.tokenLimit).toBe(name === 'claude' ? 'max_tokens' : 'max_completion_tokens');
  });

  it('base names drop the provider path, the case and a fine-tune prefix', () => {
    expect(baseName('openai/o4-mini')).toBe('o4-mini');
    expect(baseName('Qwen/Qwen3-4B')).toBe('qwen3-4b');
    expect(baseName('ft:gpt-4o:org::x')).toBe('gpt-4o:org::x');
  });

  it('gpt-5.1 and later take a temperature only without reasoning; o-series never; gpt-4.x always', () => {
    const g51 = familyOf('gpt-5.1');
    expect([undefined, 'none', 'low', 'high'].map((e) => takesTemperature(g51, e as never))).toEqual([true, true, false, false]);
    expect(takesTemperature(familyOf('o3'), undefined)).toBe(false);
    expect(takesTemperature(familyOf('gpt-4.1'), 'high')).toBe(true);
  });
});

describe('endpoint dialects', () => {
  it.each([
    [undefined, 'openai'],
    ['https://api.openai.com/v1', 'openai'],
    ['https://my-res.openai.azure.com/openai/deployments/x', 'openai'],
    [OPENROUTER, 'openrouter'],
    ['https://eu.openrouter.ai/api/v1', 'openrouter'],
    [DASHSCOPE, 'dashscope'],
    ['https://dashscope.aliyuncs.com/compatible-mode/v1', 'dashscope'],
    [VLLM, 'self-hosted'],
    ['http://127.0.0.1:8080/v1', 'self-hosted'],
    ['not a url', 'self-hosted'],
  ])('%s → %s', (baseURL, dialect) => expect(dialectOf(baseURL)).toBe(dialect));
});

describe('the request fields a ref becomes', () => {
  it('no temperature unless set; the family or the endpoint names the cap', () => {
    expect(chatParameters({ model: 'gpt-4.1' })).toEqual({ tokenLimit: 'max_completion_tokens', extra: {}, withheld: [] });
    expect(chatParameters({ model: 'gpt-4.1', temperature: 0.9 })).toEqual({ temperature: 0.9, tokenLimit: 'max_completion_tokens', extra: {}, withheld: [] });
    expect(chatParameters({ model: 'anthropic/claude-sonnet-4', baseURL: OPENROUTER, temperature: 0.9 })).toMatchObject({ temperature: 0.9, tokenLimit: 'max_tokens' });
    // OpenRouter's documented field, whatever the model behind it.
    expect(tokenLimitOf({ model: 'openai/o4-mini', baseURL: OPENROUTER })).toBe('max_tokens');
    expect(tokenLimitOf({ model: 'claude-sonnet-4', baseURL: 'https://api.anthropic.com/v1' })).toBe('max_tokens');
    expect(tokenLimitOf({ model: 'Qwen/Qwen3-4B', baseURL: VLLM })).toBe('max_completion_tokens');
    // The ref's own choice wins.
    expect(tokenLimitOf({ model: 'o4-mini', tokenLimitParameter: 'max_tokens' })).toBe('max_tokens');
  });

  it('a temperature the model cannot take is withheld, not sent', () => {
    expect(chatParameters({ model: 'o4-mini', temperature: 0 })).toEqual({ tokenLimit: 'max_completion_tokens', extra: {}, withheld: ['temperature'] });
    expect(chatParameters({ model: 'gpt-5.1', temperature: 0.2, reasoningEffort: 'none' })).toMatchObject({ temperature: 0.2, withheld: [] });
    expect(chatParameters({ model: 'gpt-5.1', temperature: 0.2, reasoningEffort: 'high' })).toMatchObject({ withheld: ['temperature'] });
  });

  it('reasoning effort: reasoning_effort at OpenAI and self-hosted servers, reasoning.effort at OpenRouter', () => {
    expect(chatParameters({ model: 'o4-mini', reasoningEffort: 'high' }).extra).toEqual({ reasoning_effort: 'high' });
    expect(chatParameters({ model: 'openai/o4-mini', baseURL: OPENROUTER, reasoningEffort: 'low' }).extra).toEqual({ reasoning: { effort: 'low' } });
    expect(chatParameters({ model: 'gpt-oss-20b', baseURL: VLLM, reasoningEffort: 'medium' }).extra).toEqual({ reasoning_effort: 'medium' });
  });

  it("Qwen3's thinking: chat_template_kwargs on vLLM/llama.cpp, reasoning.enabled on OpenRouter, enable_thinking on DashScope", () => {
    expect(chatParameters({ model: 'Qwen/Qwen3-4B', baseURL: VLLM, thinking: false }).extra).toEqual({ chat_template_kwargs: { enable_thinking: false } });
    expect(chatParameters({ model: 'qwen/qwen3-32b', baseURL: OPENROUTER, thinking: true }).extra).toEqual({ reasoning: { enabled: true } });
    expect(chatParameters({ model: 'qwen/qwen3-32b', baseURL: OPENROUTER, thinking: true, reasoningEffort: 'high' }).extra).toEqual({ reasoning: { effort: 'high', enabled: true } });
    expect(chatParameters({ model: 'qwen3-32b', baseURL: DASHSCOPE, thinking: false }).extra).toEqual({ enable_thinking: false });
    // OpenAI's API has no such switch: never sent there.
    expect(chatParameters({ model: 'gpt-4.1', thinking: true })).toMatchObject({ extra: {}, withheld: ['thinking'] });
  });
});

describe('what validation refuses', () => {
  const problems = (s: Parameters<typeof settingProblems>[0]) => settingProblems(s).map((p) => `${p.field}: ${p.message}`);
  it('passes what a model takes, and anything about models it does not know', () => {
    expect(problems({ model: 'gpt-4.1', temperature: 0.9 })).toEqual([]);
    expect(problems({ model: 'o4-mini', reasoningEffort: 'high', tokenLimitParameter: 'max_completion_tokens' })).toEqual([]);
    expect(problems({ model: 'gpt-5.1', temperature: 0.3 })).toEqual([]);
    expect(problems({ model: 'my-finetune', baseURL: VLLM, temperature: 0.1, reasoningEffort: 'minimal', thinking: false })).toEqual([
      'reasoningEffort: thinking is off, so a reasoning effort ("minimal") contradicts it; drop one',
    ]);
    expect(problems({ model: 'Qwen/Qwen3-4B', baseURL: VLLM, temperature: 0.6, thinking: true })).toEqual([]);
  });
  it('refuses a temperature, an effort or a switch the model is known to refuse, saying why', () => {
    expect(problems({ model: 'o4-mini', temperature: 0 })).toEqual([
      'temperature: o4-mini is an OpenAI reasoning model (o-series): the API accepts only its default temperature and answers 400 to any other; remove temperature',
    ]);
    expect(problems({ model: 'gpt-5-mini', temperature: 1 })[0]).toMatch(/^temperature: gpt-5-mini is an OpenAI reasoning model \(gpt-5\)/);
    expect(problems({ model: 'gpt-5.1', temperature: 0.2, reasoningEffort: 'medium' })[0]).toMatch(/while it reasons \(reasoningEffort medium; only with "none"\)/);
    expect(problems({ model: 'gpt-5.1', reasoningEffort: 'minimal' })).toEqual(['reasoningEffort: gpt-5.1 takes reasoning effort none, low, medium, high, not "minimal"']);
    expect(problems({ model: 'o3-mini', reasoningEffort: 'none' })).toEqual(['reasoningEffort: o3-mini takes reasoning effort low, medium, high, not "none"']);
    expect(problems({ model: 'gpt-4o', reasoningEffort: 'low' })).toEqual(['reasoningEffort: gpt-4o (OpenAI chat model (gpt-4.1, gpt-4o)) takes no reasoning effort']);
    expect(problems({ model: 'gpt-4o', thinking: true })[0]).toMatch(/^thinking: OpenAI's API has no thinking switch/);
    expect(problems({ provider: 'local', model: 'smollm2-135m', thinking: false, reasoningEffort: 'low' })).toEqual([
      'reasoningEffort: only for `openai` refs (the embedded model takes none)',
      'thinking: only for `openai` refs (the embedded model takes none)',
    ]);
  });
  it('the run config reports them at the field', () => {
    const ref = (extra: object) => ({ provider: 'openai', model: 'x', apiKeyEnv: 'K', ...extra });
    const r = parseRunConfig({
      runId: 'r',
      domains: [{ name: 'd', brief: 'b', topics: ['t'] }],
      models: { a: ref({}), b: ref({}), judge: ref({ model: 'o4-mini', temperature: 0 }), embedding: ref({}) },
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([{ path: 'models.judge.temperature', message: expect.stringContaining('accepts only its default temperature') }]);
  });
});
