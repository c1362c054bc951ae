import Database from 'better-sqlite3';

/**
 * What the batcher (batcher.ts) has promised and been given, in a SQLite file of the data dir: every
 * request with its state, every flush begun and every batch job created. It is what makes the batch
 * tier durable: a worker SIGKILLed with jobs in flight finds them here after restart, a retried model
 * activity finds its request (and its answer) here instead of sending it again, and a request is
 * only ever in one job.
 *
 * A request's states: `queued` (waiting for a job), `sending` (taken by a flush whose job is being
 * created), `sent` (in job `batch_id`), `answered`, `failed` (an answer that retrying cannot change)
 * and `dropped` (its caller went away before it was answered: never sent, or its job cancelled).
 */
export type RequestState = 'queued' | 'sending' | 'sent' | 'answered' | 'failed' | 'dropped';

export interface BatchRequestRow {
  custom_id: string;
  lane: string;
  workflow_id: string;
  body: string;
  state: RequestState;
  flush_id: string | null;
  batch_id: string | null;
  answer: string | null;
  error: string | null;
  tries: number;
  abandoned: number;
  queued_at: number;
}

export interface BatchJobRow {
  batch_id: string;
  lane: string;
  flush_id: string;
  state: string;
  lines: number;
  created_at: number;
  cancel_asked: number;
}

/** How one line of a finished job ended. */
export type LineOutcome = { answer: string } | { error: LineError; retry: boolean };
/** Kept as JSON in `error`: the status the provider answered the line with, when it did. */
export interface LineError {
  status?: number;
  message: string;
}

/** A request not answered after this many jobs (expired, failed jobs, transient errors) fails for good. */
export const MAX_TRIES = 5;

const TERMINAL_JOB_STATES = ['completed', 'failed', 'expired', 'cancelled'];
export const isTerminalJob = (state: string) => TERMINAL_JOB_STATES.includes(state);

export class BatchLedger {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS batch_requests (
        custom_id TEXT PRIMARY KEY, lane TEXT NOT NULL, workflow_id TEXT NOT NULL, body TEXT NOT NULL,
        state TEXT NOT NULL, flush_id TEXT, batch_id TEXT, answer TEXT, error TEXT,
        tries INTEGER NOT NULL DEFAULT 0, abandoned INTEGER NOT NULL DEFAULT 0, queued_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS batch_requests_lane_state ON batch_requests (lane, state, queued_at);
      CREATE INDEX IF NOT EXISTS batch_requests_batch ON batch_requests (batch_id);
      CREATE TABLE IF NOT EXISTS batch_jobs (
        batch_id TEXT PRIMARY KEY, lane TEXT NOT NULL, flush_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
        lines INTEGER NOT NULL, created_at INTEGER NOT NULL, cancel_asked INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS batch_flushes (flush_id TEXT PRIMARY KEY, lane TEXT NOT NULL, started_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS batch_consumers (custom_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, activity_type TEXT NOT NULL);
    `);
  }

  /** Which workflow execution last asked for a request, and as which activity: a reset episode's new execution takes over what it asks again. */
  consume(customId: string, runId: string, activityType: string): void {
    this.db.prepare(`INSERT INTO batch_consumers (custom_id, run_id, activity_type) VALUES (?, ?, ?) ON CONFLICT (custom_id) DO UPDATE SET run_id = excluded.run_id`).run(customId, runId, activityType);
  }

  /**
   * The answers a workflow was billed for that its execution `runId` never asked for: those of an
   * execution a reset or a termination discarded, whose re-run asked differently. By activity type.
   */
  superseded(workflowId: string, runId: string): Array<{ activity_type: string; answer: string }> {
    return this.db
      .prepare(
        `SELECT c.activity_type, r.answer FROM batch_requests r JOIN batch_consumers c ON c.custom_id = r.custom_id
           WHERE r.workflow_id = ? AND r.state = 'answered' AND c.run_id != ? ORDER BY r.custom_id`,
      )
      .all(workflowId, runId) as Array<{ activity_type: string; answer: string }>;
  }

  /** Adds a request once (a retried activity finds its own); a request its caller had given up on is wanted again. */
  enqueue(r: { customId: string; lane: string; workflowId: string; body: string; now: number }): BatchRequestRow {
    this.db
      .prepare(`INSERT OR IGNORE INTO batch_requests (custom_id, lane, workflow_id, body, state, queued_at) VALUES (?, ?, ?, ?, 'queued', ?)`)
      .run(r.customId, r.lane, r.workflowId, r.body, r.now);
    this.db.prepare(`UPDATE batch_requests SET abandoned = 0, state = CASE state WHEN 'dropped' THEN 'queued' ELSE state END WHERE custom_id = ?`).run(r.customId);
    return this.request(r.customId)!;
  }

  request(customId: string): BatchRequestRow | undefined {
    return this.db.prepare(`SELECT * FROM batch_requests WHERE custom_id = ?`).get(customId) as BatchRequestRow | undefined;
  }

  /** Its caller went away: a request not yet sent is dropped (nothing was paid); one in a job stays there, marked. */
  abandon(customId: string): void {
    this.db.prepare(`UPDATE batch_requests SET abandoned = 1, state = CASE state WHEN 'queued' THEN 'dropped' ELSE state END WHERE custom_id = ?`).run(customId);
  }

  /** How many requests of a lane wait for a job, and since when the oldest has waited. */
  queued(lane: string): { count: number; oldest: number | null } {
    return this.db.prepare(`SELECT COUNT(*) AS count, MIN(queued_at) AS oldest FROM batch_requests WHERE lane = ? AND state = 'queued'`).get(lane) as { count: number; oldest: number | null };
  }

  /** Takes up to `max` queued requests (and at most `maxBytes` of lines) for a new flush, recorded before anything is uploaded. */
  beginFlush(lane: string, flushId: string, max: number, maxBytes: number, now: number): BatchRequestRow[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT * FROM batch_requests WHERE lane = ? AND state = 'queued' ORDER BY queued_at, custom_id LIMIT ?`).all(lane, max) as BatchRequestRow[];
      const taken: BatchRequestRow[] = [];
      let bytes = 0;
      for (const row of rows) {
        bytes += row.body.length + 128;
        if (taken.length > 0 && bytes > maxBytes) break;
        taken.push(row);
      }
      if (taken.length === 0) return taken;
      this.db.prepare(`INSERT INTO batch_flushes (flush_id, lane, started_at) VALUES (?, ?, ?)`).run(flushId, lane, now);
      const mark = this.db.prepare(`UPDATE batch_requests SET state = 'sending', flush_id = ? WHERE custom_id = ?`);
      for (const row of taken) mark.run(flushId, row.custom_id);
      return taken;
    })();
  }

  /** The job a flush created: its requests are in it, and only in it. */
  recordJob(flushId: string, job: { batchId: string; lane: string; state: string; createdAt: number }): void {
    this.db.transaction(() => {
      const lines = (this.db.prepare(`SELECT COUNT(*) AS n FROM batch_requests WHERE flush_id = ? AND state = 'sending'`).get(flushId) as { n: number }).n;
      this.db.prepare(`INSERT OR IGNORE INTO batch_jobs (batch_id, lane, flush_id, state, lines, created_at) VALUES (?, ?, ?, ?, ?, ?)`).run(job.batchId, job.lane, flushId, job.state, lines, job.createdAt);
      this.db.prepare(`UPDATE batch_requests SET state = 'sent', batch_id = ? WHERE flush_id = ? AND state = 'sending'`).run(job.batchId, flushId);
      this.db.prepare(`DELETE FROM batch_flushes WHERE flush_id = ?`).run(flushId);
    })();
  }

  /** A flush that created no job: its requests wait for the next one (a dropped caller's are dropped). */
  abortFlush(flushId: string): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE batch_requests SET state = CASE abandoned WHEN 1 THEN 'dropped' ELSE 'queued' END, flush_id = NULL WHERE flush_id = ? AND state = 'sending'`).run(flushId);
      this.db.prepare(`DELETE FROM batch_flushes WHERE flush_id = ?`).run(flushId);
    })();
  }

  /** Flushes begun and never recorded (the process died between upload and record): to be looked up at the provider. */
  unfinishedFlushes(lane: string): Array<{ flush_id: string; started_at: number }> {
    return this.db.prepare(`SELECT flush_id, started_at FROM batch_flushes WHERE lane = ?`).all(lane) as Array<{ flush_id: string; started_at: number }>;
  }

  openJobs(lane: string): BatchJobRow[] {
    return (this.db.prepare(`SELECT * FROM batch_jobs WHERE lane = ?`).all(lane) as BatchJobRow[]).filter((j) => !isTerminalJob(j.state));
  }

  allJobs(): BatchJobRow[] {
    return this.db.prepare(`SELECT * FROM batch_jobs ORDER BY created_at`).all() as BatchJobRow[];
  }

  setJobState(batchId: string, state: string): void {
    this.db.prepare(`UPDATE batch_jobs SET state = ? WHERE batch_id = ?`).run(state, batchId);
  }

  /** Open jobs whose every unanswered request has been given up by its caller: worth cancelling. */
  jobsNobodyWaitsFor(lane: string): string[] {
    const open = TERMINAL_JOB_STATES.map(() => '?').join(', ');
    return (
      this.db
        .prepare(
          `SELECT j.batch_id FROM batch_jobs j WHERE j.lane = ? AND j.cancel_asked = 0 AND j.state NOT IN (${open})
             AND NOT EXISTS (SELECT 1 FROM batch_requests r WHERE r.batch_id = j.batch_id AND r.state = 'sent' AND r.abandoned = 0)`,
        )
        .all(lane, ...TERMINAL_JOB_STATES) as Array<{ batch_id: string }>
    ).map((j) => j.batch_id);
  }

  markCancelAsked(batchId: string): void {
    this.db.prepare(`UPDATE batch_jobs SET cancel_asked = 1 WHERE batch_id = ?`).run(batchId);
  }

  /**
   * A finished job's lines, applied once: answers kept, hopeless errors failed, the rest (expired,
   * cancelled, transient errors, lines the provider never reported) queued for the next job, unless
   * their caller went away. Returns the requests that reached an end.
   */
  settleJob(batchId: string, state: string, outcomes: Map<string, LineOutcome>, jobError?: LineError): string[] {
    return this.db.transaction(() => {
      const job = this.db.prepare(`SELECT state FROM batch_jobs WHERE batch_id = ?`).get(batchId) as { state: string } | undefined;
      if (!job || isTerminalJob(job.state)) return [];
      const rows = this.db.prepare(`SELECT * FROM batch_requests WHERE batch_id = ? AND state = 'sent'`).all(batchId) as BatchRequestRow[];
      const ended: string[] = [];
      const answer = this.db.prepare(`UPDATE batch_requests SET state = 'answered', answer = ? WHERE custom_id = ?`);
      const fail = this.db.prepare(`UPDATE batch_requests SET state = 'failed', error = ?, tries = tries + 1 WHERE custom_id = ?`);
      // queued_at is kept: a request that has waited its time goes into the very next job.
      const requeue = this.db.prepare(`UPDATE batch_requests SET state = 'queued', batch_id = NULL, flush_id = NULL, tries = tries + 1 WHERE custom_id = ?`);
      const drop = this.db.prepare(`UPDATE batch_requests SET state = 'dropped', batch_id = NULL, flush_id = NULL WHERE custom_id = ?`);
      for (const row of rows) {
        const o = outcomes.get(row.custom_id) ?? { error: jobError ?? { message: `the batch job ended ${state} without answering this request` }, retry: true };
        if ('answer' in o) {
          answer.run(o.answer, row.custom_id);
          ended.push(row.custom_id);
        } else if (!o.retry || row.tries + 1 >= MAX_TRIES) {
          const error = o.retry ? { ...o.error, message: `not answered after ${MAX_TRIES} batch jobs; last: ${o.error.message}` } : o.error;
          fail.run(JSON.stringify(error), row.custom_id);
          ended.push(row.custom_id);
        } else if (row.abandoned) drop.run(row.custom_id);
        else requeue.run(row.custom_id);
      }
      this.db.prepare(`UPDATE batch_jobs SET state = ? WHERE batch_id = ?`).run(state, batchId);
      return ended;
    })();
  }

  close(): void {
    this.db.close();
  }
}
