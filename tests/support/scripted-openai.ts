import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './http.js';
import { type ScriptedBatches, scriptedBatches } from './scripted-batches.js';

/**
 * A real HTTP server that speaks enough of the OpenAI API (chat completions, embeddings, and the
 * Batch API's files and batches: scripted-batches.ts) for tests:
 * the production client, its serialisation and its error classes are exercised end to end, and
 * each test scripts what the "model" answers per role.
 */

export type ScriptRole = 'attacker' | 'defender' | 'judge' | 'unknown';

export interface ChatBody {
  model: string;
  messages: Array<{ role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: Array<{ type: string; function: { name: string; parameters?: unknown } }>;
  response_format?: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } };
  [k: string]: unknown;
}

export interface ScriptedRequest extends ChatBody {
  role: ScriptRole;
}

export type ScriptedResponse = {
  delayMs?: number;
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number }; completion_tokens_details?: { reasoning_tokens: number } };
  /** The tier the answer says it was billed at; default, for a request that names a `service_tier`: flex for flex, else `default` (as OpenAI answers). */
  serviceTier?: string;
} & (
  | { json: unknown }
  | { content: string }
  | { toolCalls: Array<{ name: string; arguments: string }> }
  | { status: number; retryAfter?: string; retryAfterMs?: string; message?: string; /** Sent as the whole body instead of the OpenAI-style error (a llama.cpp or vLLM refusal). */ errorBody?: unknown }
  /** A 200 whose body is this text as sent (not JSON-encoded): a body the client cannot parse. */
  | { rawBody: string; contentType?: string }
  /** `reset`: the connection is destroyed before any response; `stall`: headers and half a body are sent, then nothing. */
  | { drop: 'reset' | 'stall' }
  | Record<never, never>
);

/**
 * Sees every request (chat and embeddings) before it is routed and before the role's queue and
 * script. A response it returns is sent instead of the normal answer (a `delayMs` alone only
 * delays the normal answer); undefined lets the request through.
 */
export type Interceptor = (req: RecordedRequest) => ScriptedResponse | undefined | Promise<ScriptedResponse | undefined>;

export type ScriptHandler = (req: ScriptedRequest) => ScriptedResponse | Promise<ScriptedResponse>;

export interface RecordedRequest {
  path: string;
  method: string;
  /** Date.now() when the request arrived (for Retry-After checks). */
  at: number;
  headers: IncomingMessage['headers'];
  body: any;
  role: ScriptRole;
  /** A line of this Batch API job, answered when the job ended (not a request of its own). */
  viaBatch?: string;
}

export interface ScriptedOpenAI {
  baseURL: string;
  requests: RecordedRequest[];
  /** Chat completion requests only. */
  chatRequests(): RecordedRequest[];
  /** Replaces the default handler (used when a role's queue is empty). */
  script(handler: ScriptHandler): void;
  /** Queues responses for a role, consumed in order before the default handler. */
  enqueue(role: ScriptRole, ...responses: ScriptedResponse[]): void;
  /** Installs (or, with undefined, removes) a hook that sees every request first: see Interceptor. */
  intercept(hook: Interceptor | undefined): void;
  /** How a chat request's prompt is counted in `usage.prompt_tokens` (undefined: the default, JSON length / 4). */
  countPromptTokens(count: ((body: ChatBody) => number) | undefined): void;
  /** The Batch API side: the jobs created, and how the next ones progress. */
  batches: ScriptedBatches;
  /** What the server billed: each chat completion it answered, at the tier it answered at (`batch` for a job's lines). */
  bill: BilledCall[];
  close(): Promise<void>;
}

export interface BilledCall {
  role: ScriptRole;
  tier: string;
  promptTokens: number;
  completionTokens: number;
}

/** The game's prompts begin their system message with `ROLE: attacker|defender|judge`. */
export function roleOf(body: Pick<ChatBody, 'messages'>): ScriptRole {
  const system = body.messages?.find((m) => m.role === 'system' || m.role === 'developer');
  const m = /^\s*ROLE:\s*(attacker|defender|judge)\b/i.exec(system?.content ?? '');
  return m ? (m[1]!.toLowerCase() as ScriptRole) : 'unknown';
}

const DIM = 64;

/** Deterministic bag-of-words embedding: words hashed (FNV-1a) into 64 buckets, L2-normalised. */
export function bagOfWordsVector(text: string): number[] {
  const v = new Array<number>(DIM).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
    v[(h >>> 0) % DIM]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const approxTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${Math.random().toString(36).slice(2, 10)}`, ...headers });
  res.end(JSON.stringify(body));
}

let completionSeq = 0;

function completion(body: ChatBody, r: ScriptedResponse, countPrompt?: (body: ChatBody) => number) {
  const promptTokens = countPrompt ? countPrompt(body) : approxTokens(JSON.stringify(body.messages));
  let message: Record<string, unknown>;
  let finish = 'stop';
  if ('toolCalls' in r) {
    message = {
      role: 'assistant',
      content: null,
      tool_calls: r.toolCalls.map((c, i) => ({ id: `call_${++completionSeq}_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
    finish = 'tool_calls';
  } else {
    const content = 'json' in r ? JSON.stringify(r.json) : 'content' in r ? r.content : '';
    message = { role: 'assistant', content };
  }
  const completionTokens = approxTokens(JSON.stringify(message));
  return {
    id: `chatcmpl-${++completionSeq}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage: r.usage ?? { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    ...(r.serviceTier || typeof body.service_tier === 'string' ? { service_tier: r.serviceTier ?? (body.service_tier === 'flex' ? 'flex' : 'default') } : {}),
  };
}

export async function startScriptedOpenAI(defaultHandler?: ScriptHandler): Promise<ScriptedOpenAI> {
  const requests: RecordedRequest[] = [];
  const queues = new Map<ScriptRole, ScriptedResponse[]>();
  let handler: ScriptHandler = defaultHandler ?? (() => ({ status: 500, message: 'no script for this request' }));
  let interceptor: Interceptor | undefined;
  let countPrompt: ((body: ChatBody) => number) | undefined;
  const bill: BilledCall[] = [];
  /** A completion, entered in the bill at the tier it names. */
  const billed = (body: ChatBody, r: ScriptedResponse, tier?: string) => {
    const c = completion(body, r, countPrompt);
    bill.push({ role: roleOf(body), tier: tier ?? c.service_tier ?? 'default', promptTokens: c.usage.prompt_tokens, completionTokens: c.usage.completion_tokens });
    return c;
  };

  /** Answers a fault (error status, raw body, dropped or stalled connection); false when `r` is not one. */
  const sendFault = (res: ServerResponse, r: ScriptedResponse): boolean => {
    if ('drop' in r) {
      if (r.drop === 'reset') res.socket?.destroy();
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"chatcmpl-stalled","object":"chat.completion","choices":[{"index":0,');
      }
      return true;
    }
    if ('rawBody' in r) {
      res.writeHead(200, { 'content-type': r.contentType ?? 'application/json' });
      res.end(r.rawBody);
      return true;
    }
    if ('status' in r && r.status !== 200) {
      const headers: Record<string, string> = {};
      if (r.retryAfter !== undefined) headers['retry-after'] = r.retryAfter;
      if (r.retryAfterMs !== undefined) headers['retry-after-ms'] = r.retryAfterMs;
      send(res, r.status, r.errorBody ?? { error: { message: r.message ?? `scripted HTTP ${r.status}`, type: 'scripted', code: null } }, headers);
      return true;
    }
    return false;
  };

  /** A batch line, answered as the same request sent alone would be; a dropped or unreadable answer is a 500 line. */
  const batches = scriptedBatches(async (body, batchId) => {
    const role = roleOf(body as ChatBody);
    const recorded: RecordedRequest = { path: '/v1/chat/completions', method: 'POST', at: Date.now(), headers: {}, body, role, viaBatch: batchId };
    requests.push(recorded);
    const r = (interceptor ? await interceptor(recorded) : undefined) ?? queues.get(role)?.shift() ?? (await handler({ ...(body as ChatBody), role }));
    if ('status' in r && r.status !== 200) return { status: r.status, body: r.errorBody ?? { error: { message: r.message ?? `scripted HTTP ${r.status}`, type: 'scripted', code: null } } };
    if ('drop' in r || 'rawBody' in r) return { status: 500, body: { error: { message: 'scripted server error', type: 'server_error' } } };
    return { status: 200, body: billed(body as ChatBody, r, 'batch') };
  });

  const server = createServer((req, res) => {
    const at = Date.now();
    void (async () => {
      const raw = await readBody(req);
      const route = (req.url ?? '').replace(/\?.*$/, '');
      if (/\/v1\/(files|batches)\b/.test(route)) {
        requests.push({ path: route, method: req.method ?? '', at, headers: req.headers, body: undefined, role: 'unknown' });
        if (await batches.route(req, res, raw, route)) return;
      }
      let body: any = undefined;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return send(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error' } });
      }
      const path = (req.url ?? '').replace(/\?.*$/, '');
      const role = body?.messages ? roleOf(body) : 'unknown';
      const recorded: RecordedRequest = { path, method: req.method ?? '', at, headers: req.headers, body, role };
      requests.push(recorded);
      const intercepted = interceptor ? await interceptor(recorded) : undefined;
      if (intercepted) {
        if (intercepted.delayMs) await new Promise((ok) => setTimeout(ok, intercepted.delayMs));
        if (sendFault(res, intercepted)) return;
        if ('json' in intercepted || 'content' in intercepted || 'toolCalls' in intercepted) return send(res, 200, billed(body as ChatBody, intercepted));
      }

      if (req.method === 'POST' && path.endsWith('/embeddings')) {
        const inputs: string[] = Array.isArray(body?.input) ? body.input : [String(body?.input ?? '')];
        const tokens = inputs.reduce((n, s) => n + approxTokens(s), 0);
        return send(res, 200, {
          object: 'list',
          model: body?.model,
          data: inputs.map((s, index) => ({ object: 'embedding', index, embedding: bagOfWordsVector(s) })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
      }
      if (!(req.method === 'POST' && path.endsWith('/chat/completions'))) {
        return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
      }

      const queued = queues.get(role)?.shift();
      const r = queued ?? (await handler({ ...(body as ChatBody), role }));
      if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
      if (sendFault(res, r)) return;
      return send(res, 200, billed(body as ChatBody, r));
    })().catch((e) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(e) } });
    });
  });

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((r) => r.path.endsWith('/chat/completions')),
    script(h) {
      handler = h;
    },
    enqueue(role, ...responses) {
      queues.set(role, [...(queues.get(role) ?? []), ...responses]);
    },
    intercept(hook) {
      interceptor = hook;
    },
    countPromptTokens(count) {
      countPrompt = count;
    },
    batches,
    bill,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
