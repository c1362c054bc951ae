/**
 * What a chat model takes in a request, by model family and by the endpoint that serves it: which
 * sampling and reasoning parameters it accepts and under which names. Pure (no I/O), so the config's
 * validation and the chat client read the same table.
 *
 * Known here (verified against the providers' documented refusals, see docs/operating.md "Real providers"):
 * - OpenAI's reasoning models (o1, o3, o4-mini, gpt-5) accept only their default temperature and
 *   answer 400 `unsupported_parameter`/`unsupported_value` to any other; they take
 *   `max_completion_tokens` (not `max_tokens`) and `reasoning_effort`.
 * - gpt-5.1 and later default to effort `none` and then take a temperature; `minimal` is gone.
 * - OpenRouter documents `max_tokens` and a unified `reasoning: {effort, enabled}` object.
 * - Qwen3's thinking switch is a chat-template variable: `chat_template_kwargs.enable_thinking` on
 *   vLLM, SGLang and llama-server, `reasoning.enabled` on OpenRouter, a top-level `enable_thinking` on DashScope.
 * Anything else is sent as configured; a refusal the table did not foresee is learned at run time
 * (activities/game/models/parameter-refusals.ts).
 */

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

export const TOKEN_LIMIT_PARAMETERS = ['max_tokens', 'max_completion_tokens'] as const;
export type TokenLimitParameter = (typeof TOKEN_LIMIT_PARAMETERS)[number];

/** Which request dialect the endpoint speaks, from its base URL. */
export type EndpointDialect = 'openai' | 'openrouter' | 'dashscope' | 'self-hosted';

export function dialectOf(baseURL: string | undefined): EndpointDialect {
  if (!baseURL) return 'openai';
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase();
  } catch {
    return 'self-hosted';
  }
  if (host === 'api.openai.com' || host.endsWith('.openai.azure.com')) return 'openai';
  if (host === 'openrouter.ai' || host.endsWith('.openrouter.ai')) return 'openrouter';
  if (host.startsWith('dashscope')) return 'dashscope';
  return 'self-hosted';
}

export type FamilyName = 'openai-o' | 'gpt-5' | 'gpt-5.x' | 'gpt-5-chat' | 'gpt-4' | 'claude' | 'qwen3' | 'other';

export interface ModelFamily {
  name: FamilyName;
  /** For messages: "OpenAI reasoning model (o-series)". */
  label: string;
  /** `without-reasoning`: only while the reasoning effort is `none` (the default of gpt-5.1 and later). */
  temperature: 'yes' | 'no' | 'without-reasoning';
  /** The field that carries the answer cap, where the endpoint does not decide it. */
  tokenLimit: TokenLimitParameter;
  /** Efforts the model takes; `[]`: none (not a reasoning model); null: not known here, sent as configured. */
  efforts: readonly ReasoningEffort[] | null;
  /** A hybrid model whose thinking is switched on and off per request (Qwen3). */
  thinkingSwitch: boolean;
}

const OTHER: ModelFamily = { name: 'other', label: 'model', temperature: 'yes', tokenLimit: 'max_completion_tokens', efforts: null, thinkingSwitch: false };

/**
 * The last path segment, lower-cased, without a fine-tune prefix: `openai/o4-mini` → `o4-mini`,
 * `Qwen/Qwen3-4B` → `qwen3-4b`, `ft:gpt-4o-mini:org::id` → `gpt-4o-mini:org::id`.
 */
export function baseName(model: string): string {
  return (model.split('/').pop() ?? model).toLowerCase().replace(/^ft:/, '');
}

/** The family a model name belongs to; `other` when the name says nothing known. */
export function familyOf(model: string): ModelFamily {
  const n = baseName(model);
  if (/^o[1-9](?![0-9])/.test(n)) {
    // o1-mini and o1-preview predate reasoning_effort.
    const efforts: readonly ReasoningEffort[] = /^o1-(mini|preview)/.test(n) ? [] : ['low', 'medium', 'high'];
    return { name: 'openai-o', label: 'OpenAI reasoning model (o-series)', temperature: 'no', tokenLimit: 'max_completion_tokens', efforts, thinkingSwitch: false };
  }
  if (/^gpt-5(\.\d+)?-chat/.test(n)) {
    return { name: 'gpt-5-chat', label: 'OpenAI chat model (gpt-5 chat)', temperature: 'yes', tokenLimit: 'max_completion_tokens', efforts: [], thinkingSwitch: false };
  }
  if (/^gpt-5\.\d/.test(n)) {
    return { name: 'gpt-5.x', label: 'OpenAI reasoning model (gpt-5.1 and later)', temperature: 'without-reasoning', tokenLimit: 'max_completion_tokens', efforts: ['none', 'low', 'medium', 'high'], thinkingSwitch: false };
  }
  if (/^gpt-5(?![0-9])/.test(n)) {
    const efforts: readonly ReasoningEffort[] = /^gpt-5-pro/.test(n) ? ['high'] : ['minimal', 'low', 'medium', 'high'];
    return { name: 'gpt-5', label: 'OpenAI reasoning model (gpt-5)', temperature: 'no', tokenLimit: 'max_completion_tokens', efforts, thinkingSwitch: false };
  }
  if (/^(gpt-4|chatgpt-4|gpt-3\.5)/.test(n)) {
    return { name: 'gpt-4', label: 'OpenAI chat model (gpt-4.1, gpt-4o)', temperature: 'yes', tokenLimit: 'max_completion_tokens', efforts: [], thinkingSwitch: false };
  }
  if (/^claude/.test(n)) return { name: 'claude', label: 'Anthropic model (Claude)', temperature: 'yes', tokenLimit: 'max_tokens', efforts: null, thinkingSwitch: false };
  if (/^qwen3/.test(n)) return { name: 'qwen3', label: 'Qwen3 model', temperature: 'yes', tokenLimit: 'max_completion_tokens', efforts: null, thinkingSwitch: true };
  return OTHER;
}

/** What a model ref says about its request parameters (the fields of common/config.ts ModelRef). */
export interface ParameterSettings {
  /** `local`: the embedded model, which takes none of the request fields here. */
  provider?: 'openai' | 'local';
  model: string;
  baseURL?: string;
  temperature?: number;
  reasoningEffort?: ReasoningEffort;
  thinking?: boolean;
  tokenLimitParameter?: TokenLimitParameter;
}

/** Whether the model takes a temperature, given the effort it is asked for. */
export function takesTemperature(family: ModelFamily, effort: ReasoningEffort | undefined): boolean {
  if (family.temperature === 'without-reasoning') return effort === undefined || effort === 'none';
  return family.temperature === 'yes';
}

/** The answer cap's field: the ref's, else OpenRouter's documented `max_tokens`, else the family's. */
export function tokenLimitOf(s: ParameterSettings): TokenLimitParameter {
  if (s.tokenLimitParameter) return s.tokenLimitParameter;
  return dialectOf(s.baseURL) === 'openrouter' ? 'max_tokens' : familyOf(s.model).tokenLimit;
}

/**
 * Settings the model cannot take, each with the reason, for the config's validation (field, message).
 * Only what is known to be refused: a model the table does not know passes.
 */
export function settingProblems(s: ParameterSettings): Array<{ field: keyof ParameterSettings; message: string }> {
  if (s.provider === 'local') {
    return (['reasoningEffort', 'thinking', 'tokenLimitParameter'] as const).filter((f) => s[f] !== undefined).map((field) => ({ field, message: 'only for `openai` refs (the embedded model takes none)' }));
  }
  const family = familyOf(s.model);
  const dialect = dialectOf(s.baseURL);
  const out: Array<{ field: keyof ParameterSettings; message: string }> = [];
  if (s.temperature !== undefined && !takesTemperature(family, s.reasoningEffort)) {
    const why = family.temperature === 'without-reasoning' ? ` while it reasons (reasoningEffort ${s.reasoningEffort}; only with "none")` : '';
    out.push({ field: 'temperature', message: `${s.model} is an ${family.label}: the API accepts only its default temperature${why} and answers 400 to any other; remove temperature` });
  }
  if (s.reasoningEffort !== undefined && family.efforts && !family.efforts.includes(s.reasoningEffort)) {
    out.push({
      field: 'reasoningEffort',
      message: family.efforts.length === 0 ? `${s.model} (${family.label}) takes no reasoning effort` : `${s.model} takes reasoning effort ${family.efforts.join(', ')}, not "${s.reasoningEffort}"`,
    });
  }
  if (s.thinking !== undefined && dialect === 'openai') {
    out.push({ field: 'thinking', message: "OpenAI's API has no thinking switch; use reasoningEffort for its reasoning models (thinking is for hybrid models such as Qwen3 behind vLLM, llama.cpp, SGLang, OpenRouter or DashScope)" });
  }
  if (s.thinking === false && s.reasoningEffort !== undefined && s.reasoningEffort !== 'none') {
    out.push({ field: 'reasoningEffort', message: `thinking is off, so a reasoning effort ("${s.reasoningEffort}") contradicts it; drop one` });
  }
  return out;
}

/** The request fields a ref's settings become. */
export interface ChatParameters {
  /** Undefined: not sent (the provider's default). */
  temperature?: number;
  tokenLimit: TokenLimitParameter;
  /** Fields beside the core ones: `reasoning_effort`, `reasoning`, `chat_template_kwargs`, `enable_thinking`. */
  extra: Record<string, unknown>;
  /** Settings the ref gave that the model cannot take (validation refuses them; a ref built without it): left out. */
  withheld: string[];
}

export function chatParameters(s: ParameterSettings): ChatParameters {
  const family = familyOf(s.model);
  const dialect = dialectOf(s.baseURL);
  const withheld: string[] = [];
  const extra: Record<string, unknown> = {};
  let temperature = s.temperature;
  if (temperature !== undefined && !takesTemperature(family, s.reasoningEffort)) {
    withheld.push('temperature');
    temperature = undefined;
  }
  if (dialect === 'openrouter') {
    // OpenRouter's one object for every provider's reasoning controls.
    const reasoning = { ...(s.reasoningEffort !== undefined ? { effort: s.reasoningEffort } : {}), ...(s.thinking !== undefined ? { enabled: s.thinking } : {}) };
    if (Object.keys(reasoning).length > 0) extra.reasoning = reasoning;
  } else {
    if (s.reasoningEffort !== undefined) extra.reasoning_effort = s.reasoningEffort;
    if (s.thinking !== undefined) {
      if (dialect === 'dashscope') extra.enable_thinking = s.thinking;
      else if (dialect === 'self-hosted') extra.chat_template_kwargs = { enable_thinking: s.thinking };
      else withheld.push('thinking');
    }
  }
  return { ...(temperature !== undefined ? { temperature } : {}), tokenLimit: tokenLimitOf(s), extra, withheld };
}
