import { existsSync } from 'node:fs';
import {
  defineChatSessionFunction,
  getLlama,
  LlamaChatSession,
  LlamaLogLevel,
  type ChatHistoryItem,
  type ChatSessionModelFunction,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
} from 'node-llama-cpp';
import { ErrorType, MissingResource, ModelError, NanofluxError } from '../../../common/errors.js';
import { type NanofluxEnv, readEnv, resolveLocalModel } from '../../../common/env.js';
import type { ToolCallRecord, Usage } from '../../../common/contracts/index.js';
import type { ChatModel, StructuredRequest, StructuredResult } from './chat-model.js';
import { checkAnswer, correction, invalidOutput, jsonSchemaOf, runToolCall } from './openai-chat.js';
import { genAiSystem, inChatSpan, usageAttributes } from '../../kit/tracing.js';

/**
 * The embedded chat model: a GGUF run in-process by node-llama-cpp, output constrained by a grammar
 * compiled from the zod schema. Measured here: the default context size and thread count made
 * generation extremely slow, so both are explicit (the threads: NANOFLUX_LOCAL_THREADS, common/env.ts).
 */

const CONTEXT_SIZE = 2048;

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  grammars: Map<string, Promise<LlamaGrammar>>;
  /** Tail of the per-model queue: one generation at a time, so requests never share a sequence. */
  queue: Promise<unknown>;
}

let llamaPromise: Promise<Llama> | undefined;
const loaded = new Map<string, Promise<Loaded>>();

function loadLlama(): Promise<Llama> {
  // Offline machines: never build from source or download binaries; CPU only.
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
  return llamaPromise;
}

/** Loads a model once per process per path (with the first caller's threads); concurrent callers share the same promise. */
function loadModel(path: string, threads: number): Promise<Loaded> {
  let p = loaded.get(path);
  if (!p) {
    p = (async () => {
      if (!existsSync(path)) throw new MissingResource(`local model file not found: ${path}`);
      try {
        const llama = await loadLlama();
        const model = await llama.loadModel({ modelPath: path });
        const context = await model.createContext({ contextSize: CONTEXT_SIZE, threads, sequences: 1 });
        return { llama, model, context, grammars: new Map(), queue: Promise.resolve() };
      } catch (e) {
        // An unreadable GGUF or a missing prebuilt binary: retrying on this worker cannot fix it.
        throw new MissingResource(`cannot load local model ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    })();
    // A failed load is not cached: the next attempt (a Temporal retry) tries again.
    p.catch(() => loaded.delete(path));
    loaded.set(path, p);
  }
  return p;
}

const GBNF_KEYS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'enum', 'const', 'oneOf', '$ref', '$defs', 'description', 'format',
]);

/** Keeps the JSON Schema subset node-llama-cpp's grammar compiler knows; zod still validates the rest. */
/** Bounds on strings and arrays in a grammar (see toGbnfSchema). */
const MAX_GRAMMAR_STRING = 280;
const MAX_GRAMMAR_ITEMS = 6;
const TOOL_PHASE_MAX_TOKENS = 192;

/**
 * Grammars cannot say minimum/maximum, so a small bounded number becomes the list of its values
 * (integers, or halves for a 1.0–5.0 score): the model can then only produce what the schema allows.
 */
function boundedNumberAsEnum(n: Record<string, unknown>): { enum: number[] } | undefined {
  const { type, minimum: lo, maximum: hi } = n;
  if ((type !== 'integer' && type !== 'number') || typeof lo !== 'number' || typeof hi !== 'number' || hi - lo > 20) return undefined;
  const step = type === 'integer' ? 1 : 0.5;
  const values: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) values.push(v);
  return values.length > 0 ? { enum: values } : undefined;
}

export function toGbnfSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toGbnfSchema);
  if (!node || typeof node !== 'object') return node;
  const bounded = boundedNumberAsEnum(node as Record<string, unknown>);
  if (bounded) return bounded;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'anyOf') out.oneOf = toGbnfSchema(v);
    else if (k === 'format' && !['date-time', 'time', 'date'].includes(String(v))) continue;
    else if (k === 'properties' || k === '$defs') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, toGbnfSchema(s)]));
    } else if (k === 'maxLength' && typeof v === 'number') {
      // llama.cpp refuses grammars with large repetition counts ("exceeds sane defaults"), and a
      // tiny model left to ramble runs past maxTokens: tighter bounds keep answers whole. They are
      // within the zod schema's, so what passes the grammar passes validation.
      out[k] = Math.min(v, MAX_GRAMMAR_STRING);
    } else if (k === 'maxItems' && typeof v === 'number') {
      out[k] = Math.min(v, MAX_GRAMMAR_ITEMS);
    } else if (GBNF_KEYS.has(k)) out[k] = typeof v === 'object' ? toGbnfSchema(v) : v;
  }
  return out;
}

export interface LocalChatOptions {
  /** A GGUF path or the alias `smollm2-135m`. */
  model: string;
  temperature?: number;
  maxOutputTokens?: number;
}

export class LocalChatModel implements ChatModel {
  readonly id: string;
  private readonly path: string;

  private readonly threads: number;

  constructor(private readonly opts: LocalChatOptions, env: Pick<NanofluxEnv, 'localModelPath' | 'localThreads'> = readEnv()) {
    this.id = `local:${opts.model}`;
    this.threads = env.localThreads;
    try {
      this.path = resolveLocalModel(opts.model, env);
    } catch (e) {
      throw new MissingResource(e instanceof Error ? e.message : String(e));
    }
  }

  async generate<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const m = await loadModel(this.path, this.threads);
    // Chain onto the model's queue; a failure must not block the requests behind it.
    const run = m.queue.then(() => this.generateExclusive(m, req));
    m.queue = run.catch(() => undefined);
    return run;
  }

  private grammarFor(m: Loaded, req: StructuredRequest<unknown>): Promise<LlamaGrammar> {
    const schema = toGbnfSchema(jsonSchemaOf(req.schema));
    const key = JSON.stringify(schema);
    let g = m.grammars.get(key);
    if (!g) {
      // The schema is only known at run time: its static type cannot be inferred.
      g = m.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
      g.catch(() => m.grammars.delete(key));
      m.grammars.set(key, g);
    }
    return g;
  }

  private async generateExclusive<T>(m: Loaded, req: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const maxSchemaRetries = req.maxSchemaRetries ?? 2;
    const maxToolRounds = req.maxToolRounds ?? 4;
    const maxTokens = req.maxOutputTokens ?? this.opts.maxOutputTokens ?? 512;
    const temperature = req.temperature ?? this.opts.temperature ?? req.defaultTemperature ?? 0.7;
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    const toolCalls: ToolCallRecord[] = [];
    const count = (text: string) => m.model.tokenize(text).length;

    // The last user message is the prompt; everything before it becomes the session's history.
    const msgs = [...req.messages];
    const lastUserIdx = msgs.map((x) => x.role).lastIndexOf('user');
    const prompt = lastUserIdx >= 0 ? msgs.splice(lastUserIdx, 1)[0]!.content : '';
    const history: ChatHistoryItem[] = msgs.map((x) =>
      x.role === 'system' ? { type: 'system', text: x.content } : x.role === 'user' ? { type: 'user', text: x.content } : { type: 'model', response: [x.content] },
    );
    const historyText = () =>
      session.getChatHistory().map((h) => (h.type === 'model' ? h.response.filter((r) => typeof r === 'string').join('') : typeof h.text === 'string' ? h.text : '')).join('\n');

    // A fresh sequence and session per request, disposed after, so requests never see each other's tokens.
    const sequence = m.context.getSequence();
    const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: true });
    try {
      session.setChatHistory([...history.filter((h) => h.type === 'system'), ...history.filter((h) => h.type !== 'system')]);
      const common = { maxTokens, temperature, repeatPenalty: { penalty: 1.15, lastTokens: 64 } };
      // One request to the embedded model: a CLIENT span as an endpoint's request has (kit/tracing.ts).
      const ask = (text: string, extra: object) =>
        inChatSpan(genAiSystem('local'), this.opts.model, {}, async (span) => {
          const before = count(historyText() + '\n' + text);
          const res = await session.promptWithMeta(text, { ...common, ...extra });
          const out = count(res.responseText);
          usage.promptTokens += before;
          usage.completionTokens += out;
          span.setAttributes(usageAttributes(before, out));
          return res;
        });

      let next = prompt;
      if (req.tools?.length) {
        // Phase 1: tools (node-llama-cpp cannot combine functions with a grammar).
        const abort = new AbortController();
        let calls = 0;
        const functions: Record<string, ChatSessionModelFunction> = {};
        for (const tool of req.tools) {
          functions[tool.name] = defineChatSessionFunction({
            description: tool.description,
            params: toGbnfSchema(tool.parameters) as never,
            handler: async (params: unknown) => {
              if (++calls > maxToolRounds) {
                abort.abort();
                return { error: 'no more tool calls are available' };
              }
              const { text, record } = await runToolCall(req.tools!, tool.name, JSON.stringify(params ?? {}));
              toolCalls.push(record);
              return text;
            },
          }) as ChatSessionModelFunction;
        }
        // Free-form working with tools gets a smaller budget: on CPU it is the slow part, and the answer that counts comes next.
        await ask(prompt, { functions, signal: abort.signal, stopOnAbortSignal: true, maxTokens: Math.min(maxTokens, TOOL_PHASE_MAX_TOKENS) });
        next = 'Now give your final answer as a JSON object matching the required schema.';
      }

      // Phase 2: the structured answer, constrained by the grammar; validated by zod and retried.
      const grammar = await this.grammarFor(m, req as StructuredRequest<unknown>);
      for (let attempts = 1; ; attempts++) {
        const res = await ask(next, { grammar });
        const check = checkAnswer(res.responseText, req.schema);
        if (check.ok) return { value: check.value, usage, toolCalls, attempts };
        const problem = res.stopReason === 'maxTokens' ? `${check.problem} (the answer was cut off at ${maxTokens} tokens: be shorter)` : check.problem;
        if (attempts > maxSchemaRetries) throw invalidOutput(req.schemaName, attempts, problem);
        next = correction(problem);
      }
    } catch (e) {
      if (e instanceof NanofluxError) throw e;
      // Local inference failures (context overflow, native errors) are treated as transient.
      throw new ModelError(ErrorType.ModelUnavailable, `local model failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      session.dispose({ disposeSequence: true });
    }
  }
}
