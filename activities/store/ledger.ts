import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EpisodeSummary } from '../../common/contracts/index.js';

export interface EpisodeRecord {
  workflowId: string;
  runId: string;
  domain: string;
  episode: number;
  summary: EpisodeSummary;
  transcript: unknown;
}

/**
 * The episode log: every episode, won or lost, with its scores and transcript, so datasets can be
 * re-cut later. Keyed by episode workflow id: a retried or replayed write replaces, never adds.
 */
export class Ledger {
  private readonly db: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Several worker processes may share the file.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS episodes (
      workflow_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, domain TEXT NOT NULL, episode INTEGER NOT NULL,
      outcome TEXT NOT NULL, summary TEXT NOT NULL, transcript TEXT NOT NULL, recorded_at TEXT NOT NULL)`);
    this.db.exec('CREATE INDEX IF NOT EXISTS episodes_run ON episodes (run_id, domain, episode)');
  }

  record(r: EpisodeRecord): void {
    this.db
      .prepare(`INSERT INTO episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (workflow_id) DO UPDATE SET outcome = excluded.outcome, summary = excluded.summary, transcript = excluded.transcript`)
      .run(r.workflowId, r.runId, r.domain, r.episode, r.summary.outcome, JSON.stringify(r.summary), JSON.stringify(r.transcript), new Date().toISOString());
  }

  summary(workflowId: string): EpisodeSummary | undefined {
    const row = this.db.prepare('SELECT summary FROM episodes WHERE workflow_id = ?').get(workflowId) as { summary: string } | undefined;
    return row ? (JSON.parse(row.summary) as EpisodeSummary) : undefined;
  }

  episodes(runId: string): EpisodeRecord[] {
    const rows = this.db
      .prepare('SELECT workflow_id, run_id, domain, episode, summary, transcript FROM episodes WHERE run_id = ? ORDER BY domain, episode')
      .all(runId) as { workflow_id: string; run_id: string; domain: string; episode: number; summary: string; transcript: string }[];
    return rows.map((r) => ({
      workflowId: r.workflow_id,
      runId: r.run_id,
      domain: r.domain,
      episode: r.episode,
      summary: JSON.parse(r.summary) as EpisodeSummary,
      transcript: JSON.parse(r.transcript) as unknown,
    }));
  }

  close(): void {
    this.db.close();
  }
}
