import { describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import {
  CLOCK_SLACK_MS,
  describeGap,
  expectOneSetOfExamples,
  type FaultInjector,
  type FaultPlan,
  historySize,
  injectFaults,
  isChat,
  isEmbedding,
  requestKey,
  retryGaps,
  useFaultFixture,
} from '../support/fault-script.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { RecordedRequest, ScriptedResponse } from '../support/scripted-openai.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-faults';

/**
 * The model-side fault suite: each test runs a real run on the dev server with the real workers
 * while the scripted OpenAI-compatible server injects one class of fault, deterministically by
 * request counts. After each: the run completes; the accepted examples in the vector store, the
 * status, the export and the ledger are one set, each once; no retry came earlier than the
 * Retry-After it was given. (Worker SIGKILL and server restarts: crash.test.ts, server-restart.test.ts.)
 */

/** One topic per episode, so no two episodes send the Attacker the same conversation (retries are matched by conversation). */
const TOPICS = Array.from({ length: 40 }, (_, i) => `topic ${i}`);

function faultConfig(f: { server: { baseURL: string } }, runId: string, generation: RunConfigInput['generation']): RunConfigInput {
  const base = testConfig(f.server.baseURL, runId, { generation });
  return { ...base, domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: TOPICS, benchmark: 'none' }] };
}

async function runUnderFaults(f: ReturnType<typeof useFaultFixture>, runId: string, generation: RunConfigInput['generation'], inject: () => FaultInjector) {
  const before = f.server.requests.length;
  const injector = inject();
  const started = Date.now();
  try {
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', {
      taskQueue: TaskQueue.main,
      workflowId: runWorkflowId(runId),
      args: [faultConfig(f, runId, generation)],
    });
    return { result, injector, requests: f.server.requests.slice(before), seconds: (Date.now() - started) / 1000 };
  } finally {
    injector.stop();
  }
}

/** Retry-After refusals whose conversation came back too early, or never. */
function earlyOrMissingRetries(requests: RecordedRequest[], injector: FaultInjector): string[] {
  return retryGaps(requests, injector.faults)
    .filter((g) => g.gapMs === undefined || g.gapMs < g.fault.retryAfterMs! - CLOCK_SLACK_MS)
    .map(describeGap);
}

const MB2 = 2 * 1024 * 1024 + 4096;

describe('model-side faults during real runs (production model clients)', () => {
  const f = useFaultFixture(NS);

  it('a 429 storm on the chat calls: half refused with Retry-After, none retried early, the run completes with one set of examples', async () => {
    scriptGame(f.server);
    // Every conversation's first attempt is refused (every fourth one twice), with delays of 1 s to
    // 3 s: some longer than the activity retry's initial interval (2 s), so an ignored Retry-After shows.
    const refusals: ScriptedResponse[] = [
      { status: 429, retryAfter: '1' },
      { status: 429, retryAfter: '3' },
      { status: 503, retryAfter: '1', message: 'overloaded, retry later' },
      { status: 429, retryAfterMs: '1500' },
    ];
    const storm: FaultPlan = (_r, c) => {
      if (c.attempt === 1) return refusals[c.ordinal % refusals.length];
      if (c.attempt === 2 && c.ordinal % refusals.length === 3) return { status: 429, retryAfter: '2' };
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'storm', { targetAccepted: 4, maxEpisodes: 30, concurrency: 3 }, () => injectFaults(f.server, storm, isChat));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.rejected.failed).toBe(0);
    await expectOneSetOfExamples(f.deps, 'storm', result.status);

    // The storm really happened: about half the chat calls were refused, in every role.
    const chat = requests.filter(isChat);
    const share = injector.faults.length / chat.length;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.6);
    expect(new Set(injector.faults.map((x) => x.request.role))).toEqual(new Set(['attacker', 'defender', 'judge']));
    // Each refused conversation came back, no earlier than its Retry-After.
    expect(earlyOrMissingRetries(requests, injector)).toEqual([]);
    console.info(`429 storm: ${injector.faults.length}/${chat.length} chat calls refused, ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  let embeddingStorm: { requests: RecordedRequest[]; injector: FaultInjector } | undefined;
  it('a 429 storm on the embeddings endpoint: half refused with Retry-After, the run completes with one set of examples', async () => {
    scriptGame(f.server);
    // Every embedding request's first attempt is refused, for longer than the store activities' first retry interval (1 s).
    const storm: FaultPlan = (_r, c) => (c.attempt === 1 ? (c.ordinal % 2 === 0 ? { status: 429, retryAfter: '3' } : { status: 503, retryAfter: '2' }) : undefined);
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'embed-storm', { targetAccepted: 3, maxEpisodes: 30, concurrency: 3 }, () => injectFaults(f.server, storm, isEmbedding));
    embeddingStorm = { requests, injector };

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.rejected.failed).toBe(0);
    await expectOneSetOfExamples(f.deps, 'embed-storm', result.status);
    const share = injector.faults.length / requests.filter(isEmbedding).length;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
    // Every refused call came back (and was answered).
    expect(retryGaps(requests, injector.faults).filter((g) => !g.next)).toEqual([]);
    console.info(`embeddings 429 storm: ${injector.faults.length} refused, ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  // KNOWN DEFECT (make this `it` once fixed): the OpenAI embedder's errors do not go through
  // fromOpenAIError, so a 429's Retry-After never becomes the activity's nextRetryDelay and the
  // store activity retries after its own 1 s back-off.
  it('a 429 storm on the embeddings endpoint: no refused call came back earlier than its Retry-After (checked on the run above)', () => {
    expect(embeddingStorm, 'the storm run above did not finish').toBeDefined();
    expect(earlyOrMissingRetries(embeddingStorm!.requests, embeddingStorm!.injector)).toEqual([]);
  });

  it('5xx bursts (500/502/503/504 and a dropped connection, no Retry-After) on chat and embeddings: retried, nothing lost or doubled', async () => {
    scriptGame(f.server);
    // Bursts of five faulted calls, then five clean ones. A conversation is faulted at most twice in a
    // row (the retry back-off doubles: a third fault would cost 8 s more); the burst goes on with other calls.
    const burst: ScriptedResponse[] = [{ status: 500 }, { status: 502 }, { status: 503 }, { status: 504 }, { drop: 'reset' }];
    let n = 0;
    const inARow = new Map<string, number>();
    const bursts: FaultPlan = (_r, c) => {
      const pos = (n + 7) % 10;
      if (pos < burst.length) {
        if ((inARow.get(c.key) ?? 0) >= 2) return undefined;
        n++;
        inARow.set(c.key, (inARow.get(c.key) ?? 0) + 1);
        return burst[pos];
      }
      n++;
      inARow.set(c.key, 0);
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'bursts', { targetAccepted: 4, maxEpisodes: 30, concurrency: 3 }, () => injectFaults(f.server, bursts));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.rejected.failed).toBe(0);
    await expectOneSetOfExamples(f.deps, 'bursts', result.status);

    expect(injector.faults.length).toBeGreaterThanOrEqual(10);
    const kinds = new Set(injector.faults.map((x) => ('status' in x.response ? x.response.status : 'reset')));
    expect(kinds).toEqual(new Set([500, 502, 503, 504, 'reset']));
    expect(injector.faults.some((x) => isEmbedding(x.request))).toBe(true);
    expect(injector.faults.some((x) => isChat(x.request))).toBe(true);
    // Every faulted call was retried (and in the end answered), after the retry policy's back-off, not at once.
    const faulted = new Set(injector.faults.map((x) => x.request));
    for (const fault of injector.faults) {
      const from = requests.indexOf(fault.request);
      const later = requests.slice(from + 1).filter((r) => requestKey(r) === fault.key);
      expect(later.length, `${fault.request.role} ${fault.request.path} never retried`).toBeGreaterThan(0);
      expect(later.some((r) => !faulted.has(r))).toBe(true);
      expect(later[0]!.at - fault.answeredAt).toBeGreaterThanOrEqual(1000 - CLOCK_SLACK_MS);
    }
    console.info(`5xx bursts: ${injector.faults.length} faults over ${requests.length} calls, ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  it('malformed output: unparseable answers fail their episode after the schema re-asks, a wrong shape is re-asked, garbage HTTP bodies are retried', async () => {
    scriptGame(f.server);
    const malformed: FaultPlan = (r, c) => {
      // Doomed: every answer is broken JSON, so the Attacker call fails for good after its re-asks.
      if (r.role === 'attacker' && c.ordinal % 4 === 1) return { content: '{"question": "What is 6*7?", "referenceAnswer": "4' };
      // Recovers on the re-ask: valid JSON of the wrong shape first.
      if (r.role === 'attacker' && c.ordinal % 4 === 2 && c.attempt === 1) return { json: { question: 'Where is the answer?' } };
      // A 200 whose body is an HTML error page, and one whose JSON body is cut off: transport faults, retried by Temporal.
      if (r.role === 'defender' && c.ordinal % 3 === 1 && c.attempt === 1) return { rawBody: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' };
      if (r.role === 'judge' && c.ordinal % 3 === 2 && c.attempt === 1) return { rawBody: '{"id":"chatcmpl-cut","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi' };
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'malformed', { targetAccepted: 3, maxEpisodes: 30, concurrency: 2 }, () => injectFaults(f.server, malformed, isChat));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    await expectOneSetOfExamples(f.deps, 'malformed', result.status);
    const doomed = keysWhere(injector, (s) => s.request.role === 'attacker' && s.context.ordinal % 4 === 1);
    expect(doomed.size).toBeGreaterThan(0);
    // maxSchemaRetries (2) re-asks, then the episode fails: no Temporal retry of a ModelOutputInvalid.
    for (const key of doomed) expect(requests.filter((r) => requestKey(r) === key)).toHaveLength(3);
    const failed = f.deps.ledger.episodes('malformed').filter((e) => e.summary.outcome === 'failed');
    expect(failed).toHaveLength(doomed.size);
    expect(d.rejected.failed).toBe(doomed.size);
    for (const e of failed) expect(e.summary.error).toMatch(/^ModelOutputInvalid: attack: no valid answer after 3 attempt\(s\); last problem: the answer is not valid JSON/);
    // The wrong shape was re-asked (the correction names the missing fields) and the episode went on.
    const reasked = requests.filter((r) => r.role === 'attacker' && JSON.stringify(r.body.messages).includes('Your previous answer was rejected: referenceAnswer'));
    expect(reasked.length).toBeGreaterThan(0);
    // The garbage bodies did not fail their episodes: their calls came back and were answered.
    for (const role of ['defender', 'judge'] as const) {
      const garbled = injector.faults.filter((x) => x.request.role === role);
      expect(garbled.length).toBeGreaterThan(0);
      for (const g of garbled) expect(requests.filter((r) => requestKey(r) === g.key).length).toBeGreaterThanOrEqual(2);
    }
    console.info(`malformed: ${failed.length} failed of ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  it('empty output: an always-empty Defender fails its episode with a readable error; blank, null and choice-less answers are re-asked', async () => {
    scriptGame(f.server);
    const empty: FaultPlan = (r, c) => {
      if (r.role === 'defender' && c.ordinal % 3 === 1) return { content: '' };
      if (r.role === 'attacker' && c.ordinal % 3 === 2 && c.attempt === 1) return { content: '  \n\t ' };
      if (r.role === 'judge' && c.ordinal % 3 === 1 && c.attempt === 1) return { rawBody: rawCompletion([]) };
      if (r.role === 'judge' && c.ordinal % 3 === 2 && c.attempt === 1) return { rawBody: rawCompletion([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }]) };
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'empty', { targetAccepted: 3, maxEpisodes: 30, concurrency: 2 }, () => injectFaults(f.server, empty, isChat));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    await expectOneSetOfExamples(f.deps, 'empty', result.status);
    const doomed = keysWhere(injector, (s) => s.request.role === 'defender' && s.context.ordinal % 3 === 1);
    expect(doomed.size).toBeGreaterThan(0);
    for (const key of doomed) expect(requests.filter((r) => requestKey(r) === key)).toHaveLength(3);
    const failed = f.deps.ledger.episodes('empty').filter((e) => e.summary.outcome === 'failed');
    expect(failed).toHaveLength(doomed.size);
    for (const e of failed) {
      expect(e.summary.error).toBe('ModelOutputInvalid: defense: no valid answer after 3 attempt(s); last problem: the answer was empty');
      // The Attacker's question is still in the episode's record.
      expect((e.transcript as { attack?: { question: string } }).attack?.question).toMatch(/^Question \d+/);
    }
    // Blank, null and missing answers were re-asked with a correction, and their episodes went on.
    const corrections = requests.filter(isChat).filter((r) => JSON.stringify(r.body.messages).includes('Your previous answer was rejected: the answer was empty'));
    expect(new Set(corrections.map((r) => r.role))).toEqual(new Set(['attacker', 'defender', 'judge']));
    console.info(`empty: ${failed.length} failed of ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  it('output over 2 MB: refused by the client, the episode fails or is re-asked, and no history or ledger row takes the megabytes', async () => {
    scriptGame(f.server);
    const huge = 'x'.repeat(MB2);
    const scores = { questionValid: true, referenceCorrect: true, complexity: 3, hops: 2, quality: 4, defenderCorrect: false };
    const oversize: FaultPlan = (r, c) => {
      // Doomed: a schema-valid verdict whose explanation is 2 MB, every time.
      if (r.role === 'judge' && c.ordinal % 3 === 1) return { json: { ...scores, explanation: huge } };
      // 2 MB of garbage once, then a good answer.
      if (r.role === 'attacker' && c.ordinal % 3 === 2 && c.attempt === 1) return { content: huge };
      // A tool call whose arguments are 2 MB (to a tool that does not exist), then the verdict.
      if (r.role === 'judge' && c.ordinal % 3 === 2 && c.attempt === 1) return { toolCalls: [{ name: 'lookup_everything', arguments: JSON.stringify({ q: huge }) }] };
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'oversize', { targetAccepted: 3, maxEpisodes: 30, concurrency: 2 }, () => injectFaults(f.server, oversize, isChat));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    await expectOneSetOfExamples(f.deps, 'oversize', result.status);
    const doomed = keysWhere(injector, (s) => s.request.role === 'judge' && s.context.ordinal % 3 === 1);
    expect(doomed.size).toBeGreaterThan(0);
    for (const key of doomed) expect(requests.filter((r) => requestKey(r) === key)).toHaveLength(3);
    const episodes = f.deps.ledger.episodes('oversize');
    const failed = episodes.filter((e) => e.summary.outcome === 'failed');
    expect(failed).toHaveLength(doomed.size);
    for (const e of failed) expect(e.summary.error).toMatch(/^ModelOutputInvalid: verdict: no valid answer after 3 attempt\(s\); last problem: the answer was too long \(\d{7} characters\)$/);
    // The oversized answer was not echoed back to the model in the re-ask.
    const attackerReasks = requests.filter((r) => r.role === 'attacker' && JSON.stringify(r.body.messages).includes('the answer was too long'));
    expect(attackerReasks.length).toBeGreaterThan(0);
    for (const r of attackerReasks) expect(JSON.stringify(r.body).length).toBeLessThan(100_000);
    // The tool call's 2 MB arguments are in the transcript only as a truncated record.
    const withTool = episodes.filter((e) => (e.transcript as { toolCalls?: unknown[] }).toolCalls?.length);
    expect(withTool.length).toBeGreaterThan(0);
    for (const e of withTool) {
      const call = (e.transcript as { toolCalls: { tool: string; input: string; error?: string }[] }).toolCalls[0]!;
      expect(call.tool).toBe('lookup_everything');
      expect(call.input.length).toBeLessThanOrEqual(501);
      expect(call.error).toMatch(/unknown tool/);
    }
    // Nothing of the megabytes reached a workflow history or the ledger.
    for (const e of episodes) {
      const { bytes, largestPayload } = await historySize(f.tc.client.workflow.getHandle(e.workflowId));
      expect(bytes, `${e.workflowId} history`).toBeLessThan(1024 * 1024);
      expect(largestPayload, `${e.workflowId} largest payload`).toBeLessThan(256 * 1024);
      expect(JSON.stringify(e).length, `${e.workflowId} ledger row`).toBeLessThan(100_000);
    }
    const run = await historySize(f.tc.client.workflow.getHandle(runWorkflowId('oversize')));
    expect(run.bytes).toBeLessThan(1024 * 1024);
    console.info(`oversize: ${failed.length} failed of ${d.episodesFinished} episodes; ${injector.faults.length} oversized answers; ${seconds.toFixed(1)} s`);
  }, 90_000);
});

describe('responses slower than the client timeout (chat models built with a 3 s request timeout)', () => {
  const TIMEOUT_MS = 3000;
  const f = useFaultFixture(NS, { chatTimeoutMs: TIMEOUT_MS });

  it('a call that outlasts the timeout is abandoned and retried, its late answer changes nothing; a slow call within it is not retried', async () => {
    scriptGame(f.server);
    const slow: FaultPlan = (_r, c) => {
      if (c.ordinal % 3 === 0 && c.attempt === 1) return { delayMs: TIMEOUT_MS + 1500 };
      if (c.ordinal % 3 === 1) return { delayMs: TIMEOUT_MS - 1500 };
      return undefined;
    };
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'slow', { targetAccepted: 3, maxEpisodes: 30, concurrency: 3 }, () => injectFaults(f.server, slow, isChat));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.rejected.failed).toBe(0);
    await expectOneSetOfExamples(f.deps, 'slow', result.status);
    const late = keysWhere(injector, (s) => s.context.ordinal % 3 === 0);
    const slowButInTime = keysWhere(injector, (s) => s.context.ordinal % 3 === 1);
    expect(late.size).toBeGreaterThan(0);
    expect(slowButInTime.size).toBeGreaterThan(0);
    const count = (key: string) => requests.filter((r) => requestKey(r) === key).length;
    for (const key of late) expect(count(key)).toBe(2);
    for (const key of slowButInTime) expect(count(key)).toBe(1);
    console.info(`slow: ${late.size} calls timed out and retried, ${slowButInTime.size} slow in time, ${d.episodesFinished} episodes, ${seconds.toFixed(1)} s`);
  }, 90_000);

  // KNOWN DEFECT (make this `it` once fixed): the openai client's `timeout` stops at the response
  // headers; a body that stalls is read until undici's 300 s body timeout, the activity heartbeating
  // all the while. This run then outlives the test's 20 s.
  it('a response that stalls mid-body is abandoned within the client timeout and retried', async () => {
    scriptGame(f.server);
    // Headers and half a body, then silence, for the first Defender call.
    const stall: FaultPlan = (r, c) => (r.role === 'defender' && c.ordinal === 0 && c.attempt === 1 ? { drop: 'stall' } : undefined);
    const { result, injector, requests, seconds } = await runUnderFaults(f, 'stall', { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 }, () => injectFaults(f.server, stall, isChat));

    expect(result.status.domains.math!.stopReason).toBe('target_reached');
    expect(result.status.domains.math!.rejected.failed).toBe(0);
    await expectOneSetOfExamples(f.deps, 'stall', result.status);
    const [stalled] = injector.faults;
    const retry = requests.slice(requests.indexOf(stalled!.request) + 1).find((r) => requestKey(r) === stalled!.key);
    // Given up at the client's timeout, then the activity's 2 s back-off: well under 10 s, not the 5 min of undici's body timeout.
    expect(retry!.at - stalled!.request.at).toBeLessThan(TIMEOUT_MS + 2000 + 3000);
    console.info(`stall: retried after ${retry!.at - stalled!.request.at} ms, ${seconds.toFixed(1)} s`);
  }, 20_000);
});

/** The distinct conversations the injector saw that match `pick`. */
function keysWhere(injector: FaultInjector, pick: (s: FaultInjector['seen'][number]) => boolean): Set<string> {
  return new Set(injector.seen.filter(pick).map((s) => s.context.key));
}

/** A chat completion body with these choices, sent raw (the scripted server always sends one choice with content). */
function rawCompletion(choices: unknown[]): string {
  return JSON.stringify({ id: 'chatcmpl-fault', object: 'chat.completion', created: 0, model: 'scripted', choices, usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } });
}
