import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { formatPath } from '../../../common/config.js';
import { ErrorType, ModelError } from '../../../common/errors.js';
import type { ToolCallRecord, Usage } from '../../../common/contracts/index.js';
import { cancellationSignal } from '../../kit/boundary.js';
import { withCallTimeout } from '../../kit/call-timeout.js';
import { fromOpenAIError } from '../../kit/errors.js';
import type { ChatModel, StructuredRequest, StructuredResult, ToolSpec } from './chat-model.js';
import type { RateLimiter } from '../../kit/rate-limiter.js';

/** Longer answers are refused: a runaway model must not push megabytes into activity results/histories. */
export const MAX_ANSWER_CHARS = 64 * 1024;
const TRUNCATE = 500;

export const truncate = (s: string, n = TRUNCATE) => (s.length > n ? `${s.slice(0, n)}…` : s);

export type AnswerCheck<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Parses and validates one model answer; `problem` is written for the model to read and fix. */
export function checkAnswer<T>(content: string | null | undefined, schema: z.ZodType<T>): AnswerCheck<T> {
  if (!content || !content.trim()) return { ok: false, problem: 'the answer was empty' };
  if (content.length > MAX_ANSWER_CHARS) return { ok: false, problem: `the answer was too long (${content.length} characters)` };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (e) {
    return { ok: false, problem: `the answer is not valid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, problem: r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ') };
}

export function correction(problem: string): string {
  return `Your previous answer was rejected: ${problem}. Answer again with ONLY a JSON object that matches the required schema exactly.`;
}

export function invalidOutput(schemaName: string, attempts: number, problem: string): ModelError {
  return new ModelError(ErrorType.ModelOutputInvalid, `${schemaName}: no valid answer after ${attempts} attempt(s); last problem: ${truncate(problem)}`);
}

/** The JSON Schema sent to the model, without the meta `$schema` key some servers reject. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** Runs one tool call; never throws, so a bad call becomes text the model can react to. */
/** Longest a single tool call may take (the python tool's own wall-time limit is far shorter). */
export const TOOL_CALL_TIMEOUT_MS = 60_000;

export async function runToolCall(tools: ToolSpec[], name: string, rawArgs: string): Promise<{ text: string; record: ToolCallRecord }> {
  const started = Date.now();
  const finish = (text: string, error?: string) => ({
    text,
    record: { tool: name, input: truncate(rawArgs), output: truncate(text), durationMs: Date.now() - started, ...(error ? { error } : {}) },
  });
  const tool = tools.find((t) => t.name === name);
  if (!tool) return finish(JSON.stringify({ error: `unknown tool "${name}"` }), `unknown tool "${name}"`);
  let args: unknown;
  try {
    args = rawArgs.trim() ? JSON.parse(rawArgs) : {};
  } catch (e) {
    const error = `malformed tool arguments (not JSON): ${e instanceof Error ? e.message : String(e)}`;
    return finish(JSON.stringify({ error }), error);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    // A bound on each call's time: a tool that hangs must not hold the judge (and its activity) forever.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tool "${name}" did not answer within ${TOOL_CALL_TIMEOUT_MS / 1000} s`)), TOOL_CALL_TIMEOUT_MS);
    });
    const text = await Promise.race([tool.run(args), timeout]);
    return finish(text, toolError(text));
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return finish(JSON.stringify({ error }), error);
  } finally {
    clearTimeout(timer);
  }
}

/** Tools answer errors as JSON `{"error": …}` rather than throwing; the record should say so too. */
function toolError(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && 'error' in v ? truncate(String((v as { error: unknown }).error)) : undefined;
  } catch {
    return undefined;
  }
}

export interface OpenAIChatOptions {
  model: string;
  baseURL?: string;
  apiKey: string;
  temperature?: number;
  maxOutputTokens?: number;
  timeoutMs?: number;
  /** The endpoint's client-side rate limit (rate-limiter.ts), shared with every ref naming it; none: unlimited. */
  rateLimiter?: RateLimiter;
}

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  private readonly client: OpenAI;

  constructor(private readonly opts: OpenAIChatOptions) {
    this.id = `openai:${opts.model}`;
    // maxRetries 0: Temporal owns retries, so every attempt is visible in the workflow history.
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs ?? 120_000 });
  }

  async generate<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const maxSchemaRetries = req.maxSchemaRetries ?? 2;
    const maxToolRounds = req.maxToolRounds ?? 4;
    const tools = req.tools ?? [];
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    const toolCalls: ToolCallRecord[] = [];
    const messages: ChatCompletionMessageParam[] = req.messages.map((m) => ({ role: m.role, content: m.content }));
    const toolDefs: ChatCompletionTool[] = tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    const responseFormat = {
      type: 'json_schema' as const,
      json_schema: { name: req.schemaName, schema: jsonSchemaOf(req.schema), strict: true },
    };

    let rounds = 0;
    let attempts = 0;
    for (;;) {
      const offerTools = toolDefs.length > 0 && rounds < maxToolRounds;
      let resp: OpenAI.Chat.Completions.ChatCompletion;
      // Every request waits for its slot, tool rounds and schema re-asks included: the provider counts requests, not activities.
      await this.opts.rateLimiter?.acquire(cancellationSignal());
      try {
        resp = await withCallTimeout(this.opts.timeoutMs ?? 120_000, (signal) =>
          this.client.chat.completions.create(
            {
              model: this.opts.model,
              messages,
              // Tools and the answer format together: a model that needs no tool answers in one request.
              ...(offerTools ? { tools: toolDefs } : {}),
              response_format: responseFormat,
              temperature: req.temperature ?? this.opts.temperature,
              max_completion_tokens: req.maxOutputTokens ?? this.opts.maxOutputTokens,
            },
            // The client's timeout stops counting once the headers arrive; a body that stalls after them
            // would hold the activity for Node's 5-minute body timeout. This bounds the whole call.
            { signal },
          ),
        );
      } catch (e) {
        // A 429's Retry-After holds back every request to this endpoint, not only this one's retry.
        const err = fromOpenAIError(e);
        throw this.opts.rateLimiter ? this.opts.rateLimiter.noteFailure(err) : err;
      }
      if (!Array.isArray(resp?.choices)) {
        // A 200 that is not a completion (an HTML error page from a proxy): transient, and said plainly.
        throw new ModelError(ErrorType.ModelUnavailable, `malformed response from ${this.opts.model}: not a chat completion`);
      }
      usage.promptTokens += resp.usage?.prompt_tokens ?? 0;
      usage.completionTokens += resp.usage?.completion_tokens ?? 0;
      const msg = resp.choices[0]?.message;
      const calls = (msg?.tool_calls ?? []).filter((c) => c.type === 'function');

      if (offerTools && calls.length > 0) {
        rounds++;
        messages.push({ role: 'assistant', content: msg?.content ?? null, tool_calls: calls });
        for (const call of calls) {
          const { text, record } = await runToolCall(tools, call.function.name, call.function.arguments);
          toolCalls.push(record);
          messages.push({ role: 'tool', tool_call_id: call.id, content: text });
        }
        if (rounds >= maxToolRounds) {
          messages.push({ role: 'user', content: 'No more tool calls are available. Give your final answer now as the required JSON object.' });
        }
        continue;
      }

      attempts++;
      const check = checkAnswer(msg?.content, req.schema);
      if (check.ok) return { value: check.value, usage, toolCalls, attempts };
      if (attempts > maxSchemaRetries) throw invalidOutput(req.schemaName, attempts, check.problem);
      // Echo the bad answer so the model sees what to fix, unless it is oversized.
      const content = msg?.content ?? '';
      if (content && content.length <= MAX_ANSWER_CHARS) messages.push({ role: 'assistant', content });
      messages.push({ role: 'user', content: correction(check.problem) });
    }
  }
}
