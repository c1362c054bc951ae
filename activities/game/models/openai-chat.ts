import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { formatPath } from '../../../common/config.js';
import { ErrorType, ModelError } from '../../../common/errors.js';
import type { ToolCallRecord, Usage } from '../../../common/contracts/index.js';
import { activityIdentity, cancellationSignal } from '../../kit/boundary.js';
import { endpointLabel, recordRateLimitWait } from '../../kit/metrics.js';
import { withCallTimeout } from '../../kit/call-timeout.js';
import { chatContentAttributes, chatResponseAttributes, genAiSystem, inChatSpan } from '../../kit/tracing.js';
import { ContextExceededError, fromOpenAIError, UnsupportedParameterError } from '../../kit/errors.js';
import { type ChatParameters, chatParameters, type ParameterSettings, type ReasoningEffort, type TokenLimitParameter } from '../../../common/model-capabilities.js';
import type { ChatModel, StructuredRequest, StructuredResult } from './chat-model.js';
import type { RateLimiter } from '../../kit/rate-limiter.js';
import { ConversationMeter, fitRequest, marginOf, type Measure, shrinkTo, toolOutputBudget, trimToolOutput } from './context-window.js';
import { EndpointContext } from './endpoint-context.js';
import type { BatchLane } from './batcher.js';
import { runToolCall, truncate } from './tool-calls.js';

export { runToolCall, TOOL_CALL_TIMEOUT_MS, truncate } from './tool-calls.js';
import { addBilledUsage, DEFAULT_FLEX_FALLBACK_MS, DEFAULT_FLEX_TIMEOUT_MS, type FlexCall, flexCall, sendAtFlex } from './tiers.js';
import { adjustmentFor, applyRefusals, bodyFieldOf, knownRefusals, learnRefusal, refusalKey } from './parameter-refusals.js';

/** Longer answers are refused: a runaway model must not push megabytes into activity results/histories. */
export const MAX_ANSWER_CHARS = 64 * 1024;

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

export interface OpenAIChatOptions {
  model: string;
  baseURL?: string;
  apiKey: string;
  /** The ref's; none: not sent (the provider's default). */
  temperature?: number;
  maxOutputTokens?: number;
  reasoningEffort?: ReasoningEffort;
  thinking?: boolean;
  tokenLimitParameter?: TokenLimitParameter;
  /** One call's limit (the ref's `timeoutSeconds`); default DEFAULT_CHAT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** The endpoint's client-side rate limit (rate-limiter.ts), shared with every ref naming it; none: unlimited. */
  rateLimiter?: RateLimiter;
  /** The ref's `contextTokens`: wins over what the server says. */
  contextTokens?: number;
  /** What this process knows of the endpoint's window, shared by the refs naming it (endpoint-context.ts); default: a private one that never probes. */
  context?: EndpointContext;
  /** The ref's service tier (tiers.ts); default standard: no `service_tier` sent. */
  tier?: 'standard' | 'flex' | 'batch';
  /** tier batch: the lane of the worker's batcher (batcher.ts) every request of a call goes through. */
  batch?: BatchLane;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: each request's messages and answer, and each tool call's arguments and result, go on its span (kit/tracing.ts). */
  captureContent?: boolean;
  /** flex: how long a call waits for flex capacity before it goes on at the standard tier; default DEFAULT_FLEX_FALLBACK_MS. */
  flexFallbackMs?: number;
}

/** How long one chat completion may take when the ref does not say (its `timeoutSeconds`). */
export const DEFAULT_CHAT_TIMEOUT_MS = 120_000;

const FINAL_ANSWER_NOW = 'No more tool calls are available. Give your final answer now as the required JSON object.';

/** A request's size as context-window.ts counts it: every text the chat template renders. */
function measure(messages: ChatCompletionMessageParam[], toolDefs?: ChatCompletionTool[]): Measure {
  let chars = toolDefs ? JSON.stringify(toolDefs).length : 0;
  for (const m of messages) {
    chars += typeof m.content === 'string' ? m.content.length : m.content ? JSON.stringify(m.content).length : 0;
    if (m.role === 'assistant') for (const c of m.tool_calls ?? []) chars += c.type === 'function' ? c.function.name.length + c.function.arguments.length : 0;
  }
  return { chars, messages: messages.length };
}

/** Tokens kept free beyond a cut conversation's need: the nudge for the final answer that follows it. */
const FINAL_ANSWER_SLACK = 48;

/**
 * Cuts the conversation's bulk by about `tokens` tokens (longest first): tool outputs, and the bad
 * answers echoed back for a schema retry (a small model's run-on answer, twice over, filled a 4,096-token
 * llama-server window on its own). The instructions and the question are never cut. False when there
 * is nothing left to cut.
 */
function shrinkBulk(messages: ChatCompletionMessageParam[], tokens: number, charsPerToken: number): boolean {
  const bulk = messages.filter((m) => typeof m.content === 'string' && (m.role === 'tool' || (m.role === 'assistant' && !m.tool_calls)));
  const lengths = bulk.map((m) => (m.content as string).length);
  const caps = shrinkTo(lengths, Math.ceil(tokens * charsPerToken));
  let cut = false;
  bulk.forEach((m, i) => {
    if (caps[i]! < lengths[i]!) {
      m.content = trimToolOutput(m.content as string, caps[i]!);
      cut = true;
    }
  });
  return cut;
}

/** One request's shape: whether tools go with it and its max_tokens. */
interface Shape {
  offerTools: boolean;
  maxTokens: number | undefined;
  window: number | undefined;
}

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  private readonly client: OpenAI;
  private readonly context: EndpointContext;
  private readonly settings: ParameterSettings;
  private readonly params: ChatParameters;
  private readonly refusals: string;

  constructor(private readonly opts: OpenAIChatOptions) {
    this.id = `openai:${opts.model}`;
    const { model, baseURL, temperature, reasoningEffort, thinking, tokenLimitParameter } = opts;
    this.settings = { model, baseURL, temperature, reasoningEffort, thinking, tokenLimitParameter };
    // Which fields, under which names, from the model's family and the endpoint (common/model-capabilities.ts).
    this.params = chatParameters(this.settings);
    this.refusals = refusalKey(baseURL, model);
    // maxRetries 0: Temporal owns retries, so every attempt is visible in the workflow history.
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: this.timeoutMs });
    this.context = opts.context ?? new EndpointContext();
  }

  async generate<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    try {
      return await this.converse(req, usage);
    } catch (e) {
      // Answers that came back before the failure were billed: the failure says how much (counted apart by the episode).
      if (e instanceof ModelError && usage.promptTokens + usage.completionTokens > 0) e.spent = usage;
      throw e;
    }
  }

  private async converse<T>(req: StructuredRequest<T>, usage: Usage): Promise<StructuredResult<T>> {
    const maxSchemaRetries = req.maxSchemaRetries ?? 2;
    const maxToolRounds = req.maxToolRounds ?? 4;
    const requestedMax = req.maxOutputTokens ?? this.opts.maxOutputTokens;
    const tools = req.tools ?? [];
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
    const meter = new ConversationMeter(this.context.ruler);
    const params = req.temperature === undefined ? this.params : chatParameters({ ...this.settings, temperature: req.temperature });
    const adjusted = new Set<string>();
    const flex = this.opts.tier === 'flex' ? flexCall(this.opts.flexFallbackMs ?? DEFAULT_FLEX_FALLBACK_MS) : undefined;

    let rounds = 0;
    let attempts = 0;
    let toolsClosed = false;
    let refitted = false;
    for (;;) {
      const shape = await this.shape(req.schemaName, messages, toolDefs, meter, requestedMax, toolDefs.length > 0 && rounds < maxToolRounds && !toolsClosed);
      if (toolDefs.length > 0 && rounds < maxToolRounds && !toolsClosed && !shape.offerTools) {
        // The next round would not fit: no more tools, and the final answer is asked for now.
        toolsClosed = true;
        if (rounds > 0) messages.push({ role: 'user', content: FINAL_ANSWER_NOW });
        continue;
      }
      const sent = measure(messages, shape.offerTools ? toolDefs : undefined);
      let resp: OpenAI.Chat.Completions.ChatCompletion;
      try {
        resp = await this.sendAdjusting(
          {
            model: this.opts.model,
            messages,
            // Tools and the answer format together: a model that needs no tool answers in one request.
            ...(shape.offerTools ? { tools: toolDefs } : {}),
            response_format: responseFormat,
            ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
            ...(shape.maxTokens !== undefined ? { [params.tokenLimit]: shape.maxTokens } : {}),
            ...params.extra,
          },
          adjusted,
          flex,
        );
      } catch (e) {
        if (!(e instanceof ContextExceededError)) throw e;
        // Once per call: what the refusal said (the window, the prompt's real size) refits the same conversation.
        if (!refitted && this.learn(e, meter, sent)) {
          refitted = true;
          continue;
        }
        throw new ContextExceededError(
          `${req.schemaName} for ${this.opts.model}: the server refused the conversation as too long for its context window${shape.window ? ` (kept within ${shape.window} tokens here)` : ''}: ${e.message}`,
          e.contextTokens,
          e.promptTokens,
          { ...(e.status !== undefined ? { status: e.status } : {}), ...(e.requestId !== undefined ? { requestId: e.requestId } : {}) },
        );
      }
      addBilledUsage(usage, resp);
      req.onUsage?.(usage);
      meter.observe(sent, resp.usage?.prompt_tokens ?? 0);
      const msg = resp.choices[0]?.message;
      const calls = (msg?.tool_calls ?? []).filter((c) => c.type === 'function');

      if (shape.offerTools && calls.length > 0) {
        rounds++;
        messages.push({ role: 'assistant', content: msg?.content ?? null, tool_calls: calls });
        const results: Array<{ id: string; text: string }> = [];
        for (const call of calls) {
          const { text, record } = await runToolCall(tools, call.function.name, call.function.arguments, this.opts.captureContent);
          toolCalls.push(record);
          results.push({ id: call.id, text });
        }
        const budget = toolOutputBudget({
          window: shape.window,
          promptTokens: meter.estimate(measure(messages)),
          outputs: results.length,
          lastRound: rounds >= maxToolRounds,
          charsPerToken: this.context.ruler.charsPerToken,
          requestedMax,
        });
        for (const r of results) messages.push({ role: 'tool', tool_call_id: r.id, content: trimToolOutput(r.text, budget) });
        if (rounds >= maxToolRounds) messages.push({ role: 'user', content: FINAL_ANSWER_NOW });
        continue;
      }

      attempts++;
      const check = checkAnswer(msg?.content, req.schema);
      if (check.ok) return { value: check.value, usage, toolCalls, attempts, ...(adjusted.size > 0 ? { refusedParameters: [...adjusted] } : {}) };
      if (attempts > maxSchemaRetries) throw invalidOutput(req.schemaName, attempts, check.problem);
      // Echo the bad answer so the model sees what to fix, unless it is oversized.
      const content = msg?.content ?? '';
      if (content && content.length <= MAX_ANSWER_CHARS) messages.push({ role: 'assistant', content });
      messages.push({ role: 'user', content: correction(check.problem) });
    }
  }

  /**
   * The next request's shape within the endpoint's window (none known: as asked, tools while rounds
   * last). Throws ContextExceeded when not even the answer floor fits: the server would refuse it, or
   * cut the answer short.
   */
  private async shape(schemaName: string, messages: ChatCompletionMessageParam[], toolDefs: ChatCompletionTool[], meter: ConversationMeter, requestedMax: number | undefined, wantTools: boolean): Promise<Shape> {
    const window = await this.context.window(this.opts.contextTokens);
    if (window === undefined) return { offerTools: wantTools, maxTokens: requestedMax, window };
    const fitNow = () => {
      const promptTokens = meter.estimate(measure(messages));
      const toolTokens = wantTools ? Math.max(0, meter.estimate(measure(messages, toolDefs)) - promptTokens) : 0;
      return { promptTokens, fit: fitRequest({ window, promptTokens, toolTokens, wantTools, requestedMax }) };
    };
    let { promptTokens, fit } = fitNow();
    if (!fit.ok) {
      // The window was learned late (from a refusal), the estimate was short, or schema retries piled
      // up: the tool outputs and echoed answers already in the conversation are cut, measured afresh (the last report described the uncut
      // conversation), and the answer is asked for without tools.
      meter.forget();
      ({ promptTokens, fit } = fitNow());
      if (!fit.ok && shrinkBulk(messages, fit.need - (window - marginOf(window)) + FINAL_ANSWER_SLACK, this.context.ruler.charsPerToken)) ({ promptTokens, fit } = fitNow());
    }
    if (fit.ok) return { offerTools: fit.offerTools, maxTokens: fit.maxTokens, window };
    throw new ContextExceededError(
      `${schemaName} for ${this.opts.model} does not fit its context window of ${window} tokens: the conversation is about ${promptTokens} tokens, which leaves ${fit.room} for the answer (at least ${fit.floor} needed). Give the server a larger context (llama-server -c, vLLM --max-model-len) or the ref a larger contextTokens if the server has it`,
      window,
      promptTokens,
    );
  }

  /** Learns from a refusal; false when it taught nothing (the same request would be refused again). */
  private learn(e: ContextExceededError, meter: ConversationMeter, sent: Measure): boolean {
    if (e.contextTokens !== undefined) this.context.learnWindow(e.contextTokens);
    if (e.promptTokens !== undefined) meter.observe(sent, e.promptTokens);
    return e.contextTokens !== undefined || e.promptTokens !== undefined;
  }

  /**
   * One completion without what the endpoint is known to refuse; a 400 naming a parameter it can go
   * without is learned and the request sent again without it, once per parameter. `adjusted` collects
   * what was left out or renamed, for the call's result.
   */
  private async sendAdjusting(request: Record<string, unknown>, adjusted: Set<string>, flex?: FlexCall): Promise<OpenAI.Chat.Completions.ChatCompletion> {
    const tried = new Set<string>();
    for (;;) {
      const known = knownRefusals(this.refusals);
      const { body, changed } = applyRefusals(request, known);
      for (const c of changed) adjusted.add(c);
      try {
        return await this.send(body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, flex);
      } catch (e) {
        if (!(e instanceof UnsupportedParameterError)) throw e;
        const field = bodyFieldOf(e.parameter, body);
        const a = field === undefined ? undefined : adjustmentFor(field, e.refused);
        // Not ours to change (the messages, the format), refused again, or both names of the cap refused: the request is wrong as it is.
        if (field === undefined || a === undefined || tried.has(field) || (a.kind === 'rename' && known.has(a.to))) throw e;
        tried.add(field);
        learnRefusal(this.refusals, field, a, e);
      }
    }
  }

  /** One completion: its rate-limit slot, its time limit, its tier (a flex call waits for capacity, tiers.ts), its failure translated. */
  private async send(body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, flex?: FlexCall): Promise<OpenAI.Chat.Completions.ChatCompletion> {
    const signal = cancellationSignal();
    const once = async (b: object): Promise<OpenAI.Chat.Completions.ChatCompletion> => {
      // Every request waits for its slot, tool rounds, schema re-asks and flex re-asks included: the provider counts requests, not activities.
      if (this.opts.rateLimiter) {
        const queued = Date.now();
        await this.opts.rateLimiter.acquire(signal);
        recordRateLimitWait(Date.now() - queued, this.opts.model, endpointLabel(this.opts.baseURL));
      }
      // The client's timeout stops counting once the headers arrive; a body that stalls after them
      // would hold the activity for Node's 5-minute body timeout. This bounds the whole call.
      return withCallTimeout(this.timeoutMs, (s) => this.client.chat.completions.create(b as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, { signal: s }));
    };
    let resp: OpenAI.Chat.Completions.ChatCompletion;
    try {
      resp = await inChatSpan(genAiSystem(), this.opts.model, this.opts.tier ? { 'nanoflux.tier': this.opts.tier } : {}, async (span) => {
        const r = this.opts.batch ? await this.sendInBatch(this.opts.batch, body, signal) : flex ? await sendAtFlex(flex, body, once, signal) : await once(body);
        span.setAttributes(chatResponseAttributes(r));
        if (this.opts.captureContent) span.setAttributes(chatContentAttributes(body.messages, r));
        return r;
      });
    } catch (e) {
      // A 429's Retry-After holds back every request to this endpoint, not only this one's retry.
      const err = fromOpenAIError(e);
      throw this.opts.rateLimiter ? this.opts.rateLimiter.noteFailure(err) : err;
    }
    if (!Array.isArray(resp?.choices)) {
      // A 200 that is not a completion (an HTML error page from a proxy): transient, and said plainly.
      throw new ModelError(ErrorType.ModelUnavailable, `malformed response from ${this.opts.model}: not a chat completion`);
    }
    return resp;
  }

  /** One request through a Batch API job: no rate-limit slot or time limit of its own (the job's window is 24 h). */
  private sendInBatch(lane: BatchLane, body: object, signal: AbortSignal): Promise<OpenAI.Chat.Completions.ChatCompletion> {
    // Outside an activity (a direct call), each call is its own: nothing retries it.
    const asker = activityIdentity() ?? { workflowId: 'direct', activityId: Math.random().toString(36).slice(2) };
    return lane.complete(body, asker, signal);
  }

  /** One request's limit: the ref's, else the tier's default (flex is slower). */
  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? (this.opts.tier === 'flex' ? DEFAULT_FLEX_TIMEOUT_MS : DEFAULT_CHAT_TIMEOUT_MS);
  }
}
