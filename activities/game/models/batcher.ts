import { createHash, randomUUID } from 'node:crypto';
import OpenAI, { toFile } from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { ErrorType, ModelError } from '../../../common/errors.js';
import type { Usage } from '../../../common/contracts/index.js';
import { BatchLedger, type BatchRequestRow, isTerminalJob, type LineError, type LineOutcome } from './batch-ledger.js';
import { addBilledUsage, sumUsage } from './tiers.js';

/**
 * The batch tier (issue 16): every request of a `tier: "batch"` model call, from every episode in
 * flight, is gathered into OpenAI Batch API jobs — JSONL uploaded to /v1/files, a job created at
 * /v1/batches, polled with backoff, its output and error files read, each answer handed back to the
 * model call that asked for it.
 *
 * Why the model activity waits here instead of completing asynchronously (CompleteAsyncError) or
 * going through a gateway workflow: one model call is a conversation — the Judge's tool rounds run
 * between its requests and schema re-asks follow a bad answer — so the call's state lives in the
 * activity, and each of its requests goes through a job. The activity stays running (heartbeating,
 * costing one async wait, no thread) until its answer comes; it runs on the worker that owns the
 * run's data dir (the episode's own queue), where this batcher keeps its ledger. A worker SIGKILLed
 * mid-job loses nothing: the retried activity asks for the same requests (custom_id is a hash of the
 * workflow, the activity and the request body), finds them in the ledger, already sent or answered,
 * and the batcher resumes polling their jobs. A flush is recorded before its upload and its job is
 * tagged with the flush id, so a crash between creating a job and recording it is resolved by
 * looking the job up at the provider rather than sending its requests again.
 */

/** One provider endpoint and model: requests of one lane share jobs. */
export interface BatchLaneOptions {
  /** Distinguishes lanes (endpoint, key variable, model); never the key itself. */
  key: string;
  /** How the worker's gauges name the lane (bounded labels); default the key. */
  labels?: { endpoint: string; model: string };
  client: OpenAI;
  maxWaitMs: number;
  maxRequests: number;
  pollMs: number;
}

/** Who asks: the identity that makes a retried request the same request, and the execution and activity that use its answer. */
export interface Asker {
  workflowId: string;
  activityId: string;
  runId?: string;
  activityType?: string;
}

export interface BatchLane {
  complete(body: object, asker: Asker, signal: AbortSignal): Promise<ChatCompletion>;
}

/** The Batch API's limit is 200 MB per input file; kept under it with room for the line framing. */
const MAX_FILE_BYTES = 190 * 1024 * 1024;
const TICK_MS = 100;
const MAX_POLL_FACTOR = 10;

type Waiter = { resolve: (c: ChatCompletion) => void; reject: (e: Error) => void };

export class Batcher {
  private ledger: BatchLedger | undefined;
  private readonly lanes = new Map<string, BatchLaneOptions & { recovered: boolean }>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly nextPoll = new Map<string, { at: number; every: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly log: (line: string) => void = (line) => console.warn(`[batcher] ${line}`),
  ) {}

  /** The lane of one endpoint and model (the first registration's limits hold for the process). */
  lane(o: BatchLaneOptions): BatchLane {
    if (!this.lanes.has(o.key)) this.lanes.set(o.key, { ...o, recovered: false });
    return { complete: (body, asker, signal) => this.complete(o.key, body, asker, signal) };
  }

  /**
   * What a workflow's discarded executions were billed for and its execution `runId` did not ask
   * again (answers it did ask again it used: those are in its usage), by activity type, as usages
   * billed at the batch tier. Only answered requests count: one still in a job is not billed yet.
   */
  superseded(workflowId: string, runId: string): Map<string, Usage> {
    const spent = new Map<string, Usage>();
    for (const row of this.open().superseded(workflowId, runId)) {
      const usage: Usage = { promptTokens: 0, completionTokens: 0 };
      addBilledUsage(usage, { ...(JSON.parse(row.answer) as ChatCompletion), service_tier: 'batch' });
      const before = spent.get(row.activity_type);
      spent.set(row.activity_type, before ? sumUsage(before, usage) : usage);
    }
    return spent;
  }

  /**
   * What is in flight, by endpoint host and model (the worker's gauges, workers/batch-gauges.ts): jobs
   * at the provider not ended yet, and requests waiting to be sent in one. Nothing before the first
   * batch-tier call (the ledger is not opened for it).
   */
  pending(): Array<{ endpoint: string; model: string; jobs: number; queued: number }> {
    const by = new Map<string, { endpoint: string; model: string; jobs: number; queued: number }>();
    for (const lane of this.lanes.values()) {
      const { endpoint, model } = lane.labels ?? { endpoint: lane.key, model: lane.key };
      const p = by.get(`${endpoint}|${model}`) ?? { endpoint, model, jobs: 0, queued: 0 };
      p.jobs += this.open().openJobs(lane.key).length;
      p.queued += this.open().queued(lane.key).count;
      by.set(`${endpoint}|${model}`, p);
    }
    return [...by.values()];
  }

  /** The jobs this data dir's batcher created, oldest first (for status and tests). */
  jobs() {
    return this.open().allJobs();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const [id, set] of this.waiters) for (const w of set) w.reject(new ModelError(ErrorType.ModelUnavailable, `the worker is shutting down; batch request ${id} is kept and answered after restart`));
    this.waiters.clear();
    this.ledger?.close();
    this.ledger = undefined;
  }

  private open(): BatchLedger {
    return (this.ledger ??= new BatchLedger(this.path));
  }

  private async complete(lane: string, body: object, asker: Asker, signal: AbortSignal): Promise<ChatCompletion> {
    const text = JSON.stringify(body);
    const customId = `nf-${createHash('sha256').update(`${asker.workflowId}\n${asker.activityId}\n${text}`).digest('hex').slice(0, 40)}`;
    const row = this.open().enqueue({ customId, lane, workflowId: asker.workflowId, body: text, now: Date.now() });
    if (asker.runId) this.open().consume(customId, asker.runId, asker.activityType ?? '');
    const ended = endOf(row);
    if (ended) return ended();
    return new Promise<ChatCompletion>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const set = this.waiters.get(customId) ?? new Set();
      set.add(waiter);
      this.waiters.set(customId, set);
      signal.addEventListener('abort', () => {
        set.delete(waiter);
        if (set.size === 0) {
          this.waiters.delete(customId);
          // Nobody waits for it any more (the run was stopped, the episode cancelled): not sent if not yet sent, and a job of such requests alone is cancelled.
          if (!this.closed) this.open().abandon(customId);
        }
        reject(new ModelError(ErrorType.ModelUnavailable, 'cancelled while waiting for a batch job'));
      }, { once: true });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => {
        if (this.waiters.size > 0 || [...this.lanes.keys()].some((l) => this.open().openJobs(l).length > 0)) this.schedule();
      });
    }, TICK_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      for (const lane of this.lanes.values()) {
        try {
          await this.tend(lane);
        } catch (e) {
          // The provider unreachable, a file refused: logged, and tried again at the next tick; no request is lost.
          this.log(`lane ${lane.key}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private async tend(lane: BatchLaneOptions & { recovered: boolean }): Promise<void> {
    const ledger = this.open();
    if (!lane.recovered) {
      await this.recoverFlushes(lane);
      lane.recovered = true;
    }
    for (;;) {
      const q = ledger.queued(lane.key);
      if (q.count === 0 || (q.count < lane.maxRequests && Date.now() - (q.oldest ?? Date.now()) < lane.maxWaitMs)) break;
      if (!(await this.flush(lane))) break;
    }
    for (const job of ledger.openJobs(lane.key)) {
      const poll = this.nextPoll.get(job.batch_id) ?? { at: 0, every: lane.pollMs };
      if (Date.now() < poll.at) continue;
      const b = await lane.client.batches.retrieve(job.batch_id);
      this.nextPoll.set(job.batch_id, { at: Date.now() + poll.every, every: Math.min(poll.every * 1.5, lane.pollMs * MAX_POLL_FACTOR) });
      if (b.status === job.state) continue;
      if (isTerminalJob(b.status)) await this.settle(lane, b);
      else ledger.setJobState(job.batch_id, b.status);
    }
    for (const id of ledger.jobsNobodyWaitsFor(lane.key)) {
      await lane.client.batches.cancel(id);
      ledger.markCancelAsked(id);
    }
  }

  /** One job of the lane's oldest requests; false when there was nothing to send. */
  private async flush(lane: BatchLaneOptions & { recovered: boolean }): Promise<boolean> {
    const ledger = this.open();
    const flushId = randomUUID();
    const rows = ledger.beginFlush(lane.key, flushId, lane.maxRequests, MAX_FILE_BYTES, Date.now());
    if (rows.length === 0) return false;
    let file: OpenAI.Files.FileObject;
    try {
      const jsonl = rows.map((r) => `{"custom_id":${JSON.stringify(r.custom_id)},"method":"POST","url":"/v1/chat/completions","body":${r.body}}`).join('\n');
      file = await lane.client.files.create({ file: await toFile(Buffer.from(`${jsonl}\n`), 'nanoflux-batch.jsonl'), purpose: 'batch' });
    } catch (e) {
      // No job can exist yet: the requests wait for the next flush.
      ledger.abortFlush(flushId);
      throw e;
    }
    let batch: OpenAI.Batches.Batch;
    try {
      batch = await lane.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { nanoflux_flush: flushId } });
    } catch (e) {
      // The job may exist even so (the answer lost on the way back): it is looked up by its flush id before anything is sent again.
      lane.recovered = false;
      throw e;
    }
    ledger.recordJob(flushId, { batchId: batch.id, lane: lane.key, state: batch.status, createdAt: Date.now() });
    return true;
  }

  /** Flushes a dead process began: a job tagged with the flush id holds their requests; without one they are sent again. */
  private async recoverFlushes(lane: BatchLaneOptions): Promise<void> {
    const ledger = this.open();
    const unfinished = ledger.unfinishedFlushes(lane.key);
    if (unfinished.length === 0) return;
    const since = Math.min(...unfinished.map((f) => f.started_at)) / 1000 - 300;
    const found = new Map<string, OpenAI.Batches.Batch>();
    for await (const b of lane.client.batches.list({ limit: 100 })) {
      const flush = (b.metadata as Record<string, string> | null)?.nanoflux_flush;
      if (flush) found.set(flush, b);
      if (b.created_at < since) break;
    }
    for (const f of unfinished) {
      const b = found.get(f.flush_id);
      if (b) ledger.recordJob(f.flush_id, { batchId: b.id, lane: lane.key, state: b.status, createdAt: b.created_at * 1000 });
      else ledger.abortFlush(f.flush_id);
    }
  }

  private async settle(lane: BatchLaneOptions, b: OpenAI.Batches.Batch): Promise<void> {
    const outcomes = new Map<string, LineOutcome>();
    for (const fileId of [b.output_file_id, b.error_file_id]) {
      if (!fileId) continue;
      const text = await (await lane.client.files.content(fileId)).text();
      for (const line of text.split('\n')) if (line.trim()) readLine(line, outcomes);
    }
    const jobError: LineError | undefined = b.status === 'failed' ? { status: 400, message: `the batch job failed validation: ${(b.errors?.data ?? []).map((e) => e.message).join('; ') || 'no reason given'}` } : undefined;
    const ended = this.open().settleJob(b.id, b.status, outcomes, jobError);
    this.nextPoll.delete(b.id);
    for (const id of ended) this.wake(id);
  }

  private wake(customId: string): void {
    const set = this.waiters.get(customId);
    if (!set) return;
    this.waiters.delete(customId);
    const row = this.open().request(customId);
    const ended = row && endOf(row);
    for (const w of set) {
      if (!ended) continue;
      ended().then(w.resolve, w.reject);
    }
  }
}

/** An answered or failed request's end, as the model call sees it; undefined while it waits. */
function endOf(row: BatchRequestRow): (() => Promise<ChatCompletion>) | undefined {
  if (row.state === 'answered') {
    // Billed at the Batch API's rate whatever tier the answer names: usage records it so (tiers.ts addBilledUsage).
    return async () => ({ ...(JSON.parse(row.answer!) as ChatCompletion), service_tier: 'batch' as ChatCompletion['service_tier'] });
  }
  if (row.state === 'failed') {
    const e = JSON.parse(row.error!) as LineError;
    const type = e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 429 ? ErrorType.ModelRequestRejected : ErrorType.ModelUnavailable;
    return async () => {
      throw new ModelError(type, `batch request ${row.custom_id}: ${e.status !== undefined ? `HTTP ${e.status}: ` : ''}${e.message}`);
    };
  }
  return undefined;
}

/** One line of an output or error file: an answer, an error the request itself caused, or one a later job may not meet. */
function readLine(line: string, outcomes: Map<string, LineOutcome>): void {
  const l = JSON.parse(line) as { custom_id: string; response?: { status_code: number; body: unknown } | null; error?: { code?: string | null; message?: string | null } | null };
  const status = l.response?.status_code;
  if (status === 200) {
    outcomes.set(l.custom_id, { answer: JSON.stringify(l.response!.body) });
    return;
  }
  const body = l.response?.body as { error?: { message?: string } } | undefined;
  const message = body?.error?.message ?? l.error?.message ?? l.error?.code ?? 'no answer';
  // Expired, cancelled, rate-limited or a server error: another job may answer it. Any other 4xx: the request is wrong as it is.
  const retry = status === undefined ? true : status === 429 || status >= 500;
  outcomes.set(l.custom_id, { error: { ...(status !== undefined ? { status } : {}), message: `${l.error?.code ? `${l.error.code}: ` : ''}${message}` }, retry });
}
