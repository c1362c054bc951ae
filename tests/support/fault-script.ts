import { IllegalStateError } from '@temporalio/common';
import proto from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { buildActivityDeps } from '../../activities/deps.js';
import { apiKeyFor, memoByRef } from '../../activities/kit/model-refs.js';
import { OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { readEnv } from '../../common/env.js';
import type { RunStatus } from '../../workflows/messages.js';
import { createWorkers } from '../../workers/create-workers.js';
import { type RecordedRequest, type ScriptedOpenAI, type ScriptedResponse, type ScriptRole, startScriptedOpenAI } from './scripted-openai.js';
import { tempHome, testClient } from './workers.js';

/**
 * Deterministic fault injection for the fault suite: a plan decides, per request, whether the
 * scripted server answers normally or with a fault, from counts only (the n-th call overall, the
 * n-th attempt at one conversation, the order in which conversations first appeared), never from
 * timing, so a run's faults do not depend on how its requests interleave.
 */

/** Where a request is going and what it carries: equal for an attempt and its retries. */
export function requestKey(r: RecordedRequest): string {
  const what = r.body?.messages !== undefined ? baseConversation(r.body.messages) : r.body?.input;
  return `${r.path}|${String(r.body?.model)}|${JSON.stringify(what)}`;
}

/**
 * A chat request's messages as the activity began them: up to the model's first answer (a tool
 * call, or a bad answer echoed back) or the first correction (an empty or oversized answer is not
 * echoed). So a schema re-ask within one activity and a Temporal retry of the activity (the same
 * messages again) are both attempts at the same conversation.
 */
function baseConversation(messages: Array<{ role: string; content?: unknown }>): unknown[] {
  const added = messages.findIndex((m) => m.role === 'assistant' || (m.role === 'user' && String(m.content).startsWith('Your previous answer was rejected')));
  return added < 0 ? messages : messages.slice(0, added);
}

export const isChat = (r: RecordedRequest) => r.path.endsWith('/chat/completions');
export const isEmbedding = (r: RecordedRequest) => r.path.endsWith('/embeddings');

export interface FaultContext {
  /** 0-based position of this request among all requests the injector saw. */
  call: number;
  /** 1-based: the how-many-th request of this conversation (re-asks and retries included). */
  attempt: number;
  /** 0-based: in which order this conversation first appeared, counted per endpoint and role. */
  ordinal: number;
  key: string;
}

export type FaultPlan = (req: RecordedRequest, c: FaultContext) => ScriptedResponse | undefined;

export interface InjectedFault {
  /** The request that got the fault (the same object as in `server.requests`): an error, a raw body, a drop, or an answer of the plan's. */
  request: RecordedRequest;
  key: string;
  /** Date.now() when the fault was answered (after any delay). */
  answeredAt: number;
  response: ScriptedResponse;
  /** The delay the response asked for (Retry-After or retry-after-ms), in ms. */
  retryAfterMs?: number;
}

export interface FaultInjector {
  faults: InjectedFault[];
  /** Every request the injector saw, with its context. */
  seen: Array<{ request: RecordedRequest; context: FaultContext }>;
  stop(): void;
}

/** Installs `plan` on every request to `server` (chat and embeddings); only requests matching `where` are offered to it. */
export function injectFaults(server: ScriptedOpenAI, plan: FaultPlan, where: (r: RecordedRequest) => boolean = () => true): FaultInjector {
  const attempts = new Map<string, number>();
  const ordinals = new Map<string, number>();
  const perGroup = new Map<string, number>();
  const injector: FaultInjector = { faults: [], seen: [], stop: () => server.intercept(undefined) };
  let call = 0;
  server.intercept(async (request) => {
    if (!where(request)) return undefined;
    const key = requestKey(request);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (!ordinals.has(key)) {
      const group = `${request.path}|${request.role}`;
      ordinals.set(key, perGroup.get(group) ?? 0);
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
    }
    const context: FaultContext = { call: call++, attempt, ordinal: ordinals.get(key)!, key };
    injector.seen.push({ request, context });
    const response = plan(request, context);
    if (!response) return undefined;
    // The delay is waited here, so `answeredAt` is when the fault actually went out.
    if (response.delayMs) await new Promise((ok) => setTimeout(ok, response.delayMs));
    const { delayMs: _delay, ...answered } = response;
    // A delay alone lets the normal answer through, late; anything else replaces it.
    if (Object.keys(answered).length === 0) return undefined;
    injector.faults.push({ request, key, answeredAt: Date.now(), response: answered, retryAfterMs: retryAfterOf(answered) });
    return answered;
  });
  return injector;
}

/** The delay a scripted refusal asks for, read the way a client must (retry-after-ms first, then seconds). */
function retryAfterOf(r: ScriptedResponse): number | undefined {
  if (!('status' in r)) return undefined;
  if (r.retryAfterMs !== undefined) return Number(r.retryAfterMs);
  if (r.retryAfter !== undefined) return Number(r.retryAfter) * 1000;
  return undefined;
}

export interface RetryGap {
  fault: InjectedFault;
  /** The next request of the same conversation, if any. */
  next?: RecordedRequest;
  /** ms from the refusal going out to the next attempt arriving. */
  gapMs?: number;
}

/** For every refusal that carried a Retry-After: when the same conversation came back. */
export function retryGaps(requests: readonly RecordedRequest[], faults: readonly InjectedFault[]): RetryGap[] {
  return faults
    .filter((f) => f.retryAfterMs !== undefined)
    .map((fault) => {
      const from = requests.indexOf(fault.request);
      const next = requests.slice(from + 1).find((r) => requestKey(r) === fault.key);
      return next ? { fault, next, gapMs: next.at - fault.answeredAt } : { fault };
    });
}

/** Clock slack for the Retry-After comparison (one machine, one clock; timers fire a little early or late). */
export const CLOCK_SLACK_MS = 50;

export function describeGap(g: RetryGap): string {
  return `${g.fault.request.path} ${g.fault.request.role}: refused with ${JSON.stringify(g.fault.response)}, came back after ${g.gapMs ?? 'never'} ms`;
}

/**
 * The accepted examples in the vector store, the workflow's status, the export and the ledger are
 * one set, each exactly once; the ledger holds every finished episode once, numbered 0..n-1.
 */
export async function expectOneSetOfExamples(
  deps: { store: ReturnType<typeof buildActivityDeps>['store']; ledger: ReturnType<typeof buildActivityDeps>['ledger']; home: string },
  runId: string,
  status: RunStatus,
): Promise<{ ids: string[] }> {
  const d = status.domains.math!;
  const points = await deps.store.list(collectionName('examples', 'math', 'openai:embed'), { runId });
  const stored = points.map((p) => String(p.payload.id));
  for (const p of points) expect(p.id).toBe(pointId(String(p.payload.id)));
  const exported = readJsonl(join(deps.home, 'runs', runId, 'examples.jsonl')).map((e) => String(e.id));
  const datasetLines = readJsonl(status.dataset!.path);
  const episodes = deps.ledger.episodes(runId);
  const ledgerAccepted = episodes.filter((e) => e.summary.outcome === 'accepted');

  expect(new Set(stored).size, 'store holds an example twice').toBe(stored.length);
  expect(new Set(exported).size, 'export holds an example twice').toBe(exported.length);
  expect([...exported].sort()).toEqual([...stored].sort());
  expect(stored).toHaveLength(d.accepted);
  expect(status.accepted).toBe(d.accepted);
  expect(status.dataset!.examples).toBe(d.accepted);
  expect(datasetLines).toHaveLength(d.accepted);
  // The ledger: each finished episode once, and its accepted ones are exactly the stored examples.
  expect(episodes.map((e) => e.episode)).toEqual(Array.from({ length: d.episodesFinished }, (_, i) => i));
  expect(status.episodes).toBe(d.episodesFinished);
  expect(ledgerAccepted.map((e) => e.summary.exampleId).sort()).toEqual(stored.map((id) => pointId(id)).sort());
  expect(d.accepted + Object.values(d.rejected).reduce((a, b) => a + b, 0)).toBe(d.episodesFinished);
  return { ids: stored };
}

function readJsonl(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Serialized size of a workflow's history (what Temporal stores), and its largest payload. */
export async function historySize(handle: { fetchHistory(): Promise<proto.temporal.api.history.v1.IHistory> }): Promise<{ bytes: number; largestPayload: number }> {
  const history = await handle.fetchHistory();
  const bytes = proto.temporal.api.history.v1.History.encode(history).finish().byteLength;
  let largestPayload = 0;
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof Uint8Array) return;
    const data = (v as { data?: unknown }).data;
    if (data instanceof Uint8Array && 'metadata' in (v as object)) largestPayload = Math.max(largestPayload, data.byteLength);
    for (const x of Object.values(v)) visit(x);
  };
  visit(history);
  return { bytes, largestPayload };
}

const chatModelWithTimeout = (timeoutMs: number) =>
  memoByRef((ref, env) => {
    if (ref.provider !== 'openai') throw new Error(`the fault suite scripts openai models only, not ${ref.provider}`);
    return new OpenAIChatModel({ model: ref.model, baseURL: ref.baseURL, apiKey: apiKeyFor(ref, env), temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens, timeoutMs });
  });

/**
 * Like useGameFixture: the scripted server, the real worker set in this process and a client, on
 * `namespace`. With `chatTimeoutMs`, chat models are the production OpenAIChatModel built with that
 * request timeout instead of its 120 s default (which no config or env setting changes), so a
 * response slower than the client's timeout can be tested in seconds; everything else is the
 * production wiring of buildActivityDeps.
 */
export function useFaultFixture(namespace: string, opts: { chatTimeoutMs?: number } = {}) {
  const f = {} as {
    server: ScriptedOpenAI;
    deps: ReturnType<typeof buildActivityDeps>;
    home: string;
    tc: Awaited<ReturnType<typeof testClient>>;
  };
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch (e) {
      if (!(e instanceof IllegalStateError)) throw e; // installed by an earlier fixture in this process
    }
    f.server = await startScriptedOpenAI();
    f.home = tempHome();
    const base = buildActivityDeps({ ...readEnv(), home: f.home, qdrantUrl: undefined });
    const chat = opts.chatTimeoutMs === undefined ? undefined : chatModelWithTimeout(opts.chatTimeoutMs);
    f.deps = chat ? { ...base, chatModel: (ref) => chat(ref) } : base;
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const workers = await createWorkers({ connection, namespace, deps: f.deps, workflowBundle: { codePath: inject('workflowBundlePath') } });
    const running = workers.run();
    f.tc = await testClient(namespace);
    stop = async () => {
      workers.shutdown();
      await running;
      await f.deps.close();
      await connection.close();
    };
  });
  afterAll(async () => {
    await f.tc?.close();
    // Stalled responses hold sockets open: close the server first so no activity waits on one.
    await f.server?.close();
    await stop?.();
  });
  return f;
}

export type { ScriptRole };
