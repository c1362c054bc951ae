import type { Interceptor, RecordedRequest, ScriptedResponse } from './scripted-openai.js';

/**
 * What real providers refuse, played by the scripted server (an Interceptor): the bodies are the
 * ones OpenAI sends (collected from public reports of its 400s, 2024–2026; docs/operating.md "Real providers").
 * - o-series: any `temperature` → `unsupported_parameter` ("Unsupported parameter: 'temperature' is
 *   not supported with this model."), as o1/o3-mini answered it;
 * - gpt-5 (not its chat models): a temperature other than 1 → `unsupported_value` ("Unsupported value:
 *   'temperature' does not support 0 with this model. Only the default (1) value is supported.");
 * - both: `max_tokens` → `unsupported_parameter` ("… Use 'max_completion_tokens' instead.");
 * - gpt-4.x / gpt-4o: `reasoning_effort` → `unsupported_parameter`.
 */

const openAIError = (message: string, param: string, code: 'unsupported_parameter' | 'unsupported_value'): ScriptedResponse => ({
  status: 400,
  errorBody: { error: { message, type: 'invalid_request_error', param, code } },
});

export const unsupportedParameter = (param: string, extra = ''): ScriptedResponse =>
  openAIError(`Unsupported parameter: '${param}' is not supported with this model.${extra}`, param, 'unsupported_parameter');

export const unsupportedTemperatureValue = (value: unknown): ScriptedResponse =>
  openAIError(`Unsupported value: 'temperature' does not support ${String(value)} with this model. Only the default (1) value is supported.`, 'temperature', 'unsupported_value');

const name = (model: unknown) => String(model ?? '').split('/').pop()!.toLowerCase();

/** The refusal OpenAI would send for this chat request, or undefined when it would take it. */
export function openAIRefusal(body: Record<string, unknown> | undefined): ScriptedResponse | undefined {
  if (!body) return undefined;
  const model = name(body.model);
  const oSeries = /^o[1-9](?![0-9])/.test(model);
  const gpt5 = /^gpt-5/.test(model) && !/-chat/.test(model);
  if (oSeries || gpt5) {
    if (body.max_tokens !== undefined) return unsupportedParameter('max_tokens', " Use 'max_completion_tokens' instead.");
    if (oSeries && body.temperature !== undefined) return unsupportedParameter('temperature');
    if (gpt5 && body.temperature !== undefined && body.temperature !== 1) return unsupportedTemperatureValue(body.temperature);
  }
  if (/^(gpt-4|chatgpt-4)/.test(model) && body.reasoning_effort !== undefined) return unsupportedParameter('reasoning_effort');
  return undefined;
}

/** An Interceptor that refuses chat requests as OpenAI would, and counts what it refused per model and parameter. */
export function providerRules(): { intercept: Interceptor; refused: Array<{ model: string; param: string }> } {
  const refused: Array<{ model: string; param: string }> = [];
  const intercept = (r: RecordedRequest): ScriptedResponse | undefined => {
    if (!r.path.endsWith('/chat/completions')) return undefined;
    const answer = openAIRefusal(r.body as Record<string, unknown>);
    if (answer && 'errorBody' in answer) refused.push({ model: String(r.body?.model), param: (answer.errorBody as { error: { param: string } }).error.param });
    return answer;
  };
  return { intercept, refused };
}
