import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportComputeInput } from '../../../common/compute.js';
import type { EpisodeSummary, TrainingExample } from '../../../common/contracts/index.js';
import { readJsonlRows, runDir, writeFileAtomic } from '../../kit/files.js';
import type { GenerationCompute } from './types.js';
import { addTokens, zeroTokens } from '../../../common/tokens-by-role.js';

/**
 * What generating each domain's set took, for the report's compute accounting: tokens and USD by
 * role summed over the run's exported episodes (episodes.jsonl, the ledger's copy: every episode,
 * rejected or failed ones too, since they were paid for), and the run's generation time, kept per
 * run execution in generation-time.json so `nanoflux ablate` and `nanoflux report`, which have no
 * clock of their own on it, still find it.
 */

const TIMING_FILE = 'generation-time.json';

interface TimingFile {
  /** Seconds of generation per run execution id. */
  executions: Record<string, number>;
}

function readTiming(dir: string): TimingFile {
  const file = join(dir, TIMING_FILE);
  if (!existsSync(file)) return { executions: {} };
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<TimingFile>;
  return { executions: raw.executions && typeof raw.executions === 'object' ? raw.executions : {} };
}

/** Records this execution's time (replacing what a retry of the same execution wrote); returns the run's total, null when none was ever recorded. */
export function generationSeconds(dir: string, timing: ReportComputeInput['generation']): number | null {
  const t = readTiming(dir);
  if (timing) {
    t.executions[timing.execution] = timing.wallSeconds;
    writeFileAtomic(join(dir, TIMING_FILE), JSON.stringify(t, null, 1));
  }
  const all = Object.values(t.executions).filter((s) => typeof s === 'number' && Number.isFinite(s));
  return all.length === 0 ? null : all.reduce((a, b) => a + b, 0);
}

/**
 * Each domain's generation. Null when the run exported no episodes.jsonl (the report then says
 * generation was not measured); a domain with no episode in it gets zeros, since it generated nothing.
 */
export function runGeneration(home: string, runId: string, domains: string[], compute: ReportComputeInput | undefined, examples: TrainingExample[]): GenerationCompute[] | undefined {
  const dir = runDir(home, runId);
  const file = join(dir, 'episodes.jsonl');
  const wallSeconds = generationSeconds(dir, compute?.generation);
  if (!existsSync(file)) return undefined;
  const episodes = readJsonlRows(file).map(({ value }) => value as { domain: string; summary: EpisodeSummary });
  return domains.map((domain) => {
    const mine = episodes.filter((e) => e.domain === domain);
    const imported = examples.filter((e) => e.domain === domain && e.provenance?.runId && e.provenance.runId !== runId);
    return {
      domain,
      episodes: mine.length,
      tokens: mine.reduce((acc, e) => addTokens(acc, e.summary.tokens), zeroTokens()),
      cost: mine.reduce((acc, e) => (e.summary.cost ? addTokens(acc, e.summary.cost) : acc), zeroTokens()),
      uncosted: mine.filter((e) => !e.summary.cost).length,
      unpriced: compute?.unpriced ?? null,
      imported: { examples: imported.length, runs: [...new Set(imported.map((e) => e.provenance.runId))].sort() },
      wallSeconds,
      domains: domains.length,
    };
  });
}
