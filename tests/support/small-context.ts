import type { ChatBody, Interceptor, RecordedRequest, ScriptedOpenAI, ScriptedResponse } from './scripted-openai.js';

/**
 * The scripted server as a server with a small context window, refusing the way each kind of server
 * does (the bodies are theirs, field for field):
 * - `llama.cpp`: llama-server refuses a prompt of n_ctx tokens or more with HTTP 400
 *   `exceed_context_size_error` carrying `n_prompt_tokens` and `n_ctx`, and serves GET /props with
 *   `default_generation_settings.n_ctx` (the per-slot window). It does not refuse for max_tokens: an
 *   answer that reaches the window is cut short, which `cutShort` records.
 * - `vllm`: refuses a prompt that fills the window, and a max_tokens that does not fit beside the
 *   prompt, with its BadRequestError messages; serves `max_model_len` in GET /v1/models.
 * - `openai`: `context_length_exceeded` when prompt + max_tokens exceed the window; states nothing.
 * Prompts are counted as the JSON of the messages and tools over `charsPerToken`, and the same count
 * is reported as `usage.prompt_tokens`, as a real server's refusals and usage agree.
 */

export type ServerKind = 'llama.cpp' | 'vllm' | 'openai';

export interface SmallContextOptions {
  kind: ServerKind;
  window: number;
  /** The served model's name (vLLM's /v1/models lists it). */
  model: string;
  /** Characters per token of the emulated tokenizer (default 4). */
  charsPerToken?: number;
  /** False: the server says nothing about its window (GET /props and /models are 404s). */
  states?: boolean;
  /** Sees the requests that fit, after the window check (a test's own faults or answers). */
  next?: Interceptor;
}

export interface SmallContext {
  /** The prompt size the server counts for a chat body. */
  tokens(body: ChatBody): number;
  /** Chat requests refused as too long. */
  refused: RecordedRequest[];
  /** Chat requests let through. */
  accepted: RecordedRequest[];
  /** Accepted llama.cpp requests whose max_tokens (or its absence) would let the answer reach the window. */
  cutShort: RecordedRequest[];
  /** GET requests for what the server states (/props, /models). */
  probes: RecordedRequest[];
  stop(): void;
}

const maxTokensOf = (body: ChatBody): number | undefined => {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' ? v : undefined;
};

const refusal = (errorBody: unknown): ScriptedResponse => ({ status: 400, errorBody });

function refuse(kind: ServerKind, window: number, n: number, max: number | undefined): ScriptedResponse | undefined {
  if (kind === 'llama.cpp') {
    if (n < window) return undefined;
    const message = `request (${n} tokens) exceeds the available context size (${window} tokens), try increasing it`;
    return refusal({ error: { code: 400, message, type: 'exceed_context_size_error', n_prompt_tokens: n, n_ctx: window } });
  }
  if (kind === 'vllm') {
    if (n >= window) {
      const message = `This model's maximum context length is ${window} tokens. However, your request has ${n} input tokens. Please reduce the length of the input messages.`;
      return refusal({ error: { message, type: 'BadRequestError', param: null, code: 400 } });
    }
    if (max !== undefined && n + max > window) {
      const message = `'max_tokens' or 'max_completion_tokens' is too large: ${max}. This model's maximum context length is ${window} tokens and your request has ${n} input tokens (${max} > ${window} - ${n}). None`;
      return refusal({ error: { message, type: 'BadRequestError', param: null, code: 400 } });
    }
    return undefined;
  }
  if (n + (max ?? 0) <= window) return undefined;
  const message = `This model's maximum context length is ${window} tokens. However, your messages resulted in ${n} tokens. Please reduce the length of the messages.`;
  return refusal({ error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
}

export function emulateSmallContext(server: ScriptedOpenAI, o: SmallContextOptions): SmallContext {
  const perToken = o.charsPerToken ?? 4;
  const tokens = (body: ChatBody) => Math.ceil((JSON.stringify(body.messages).length + (body.tools ? JSON.stringify(body.tools).length : 0)) / perToken);
  const states = o.states ?? true;
  const s: SmallContext = { tokens, refused: [], accepted: [], cutShort: [], probes: [], stop: () => (server.intercept(undefined), server.countPromptTokens(undefined)) };
  server.countPromptTokens(tokens);
  server.intercept(async (req) => {
    if (req.method === 'GET' && (req.path.endsWith('/props') || req.path.endsWith('/models'))) {
      s.probes.push(req);
      if (states && o.kind === 'llama.cpp' && req.path.endsWith('/props')) {
        return { rawBody: JSON.stringify({ default_generation_settings: { n_ctx: o.window, params: { n_predict: -1 } }, total_slots: 1, model_path: `/models/${o.model}.gguf` }) };
      }
      if (states && o.kind === 'vllm' && req.path.endsWith('/v1/models')) {
        return { rawBody: JSON.stringify({ object: 'list', data: [{ id: o.model, object: 'model', owned_by: 'vllm', max_model_len: o.window }] }) };
      }
      return { status: 404, message: `no route GET ${req.path}` };
    }
    if (!req.path.endsWith('/chat/completions')) return o.next?.(req);
    const body = req.body as ChatBody;
    const n = tokens(body);
    const max = maxTokensOf(body);
    const refused = refuse(o.kind, o.window, n, max);
    if (refused) {
      s.refused.push(req);
      return refused;
    }
    s.accepted.push(req);
    if (o.kind === 'llama.cpp' && n + (max ?? Infinity) > o.window) s.cutShort.push(req);
    return o.next?.(req);
  });
  return s;
}
