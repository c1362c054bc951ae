import { calibrationLine, type CalibrationOutcome } from '../../common/contracts/calibration.js';
import type { Attack, Verification } from '../../common/contracts/index.js';
import type { EpisodeRecord } from '../../activities/store/ledger.js';
import type { RunStatus } from '../../workflows/messages.js';
import { oneLine } from '../../workflows/logic/breaker.js';

/**
 * What `npm run demo` says at the end of a run: how far the Judge can be trusted, why episodes
 * lost, what the executed check confirmed, and each accepted example beside what its program
 * printed. Pure (status and ledger records in, lines out), so it is tested without a run.
 */

/** The Judge's calibration per domain, or why there is none. */
export function calibrationLines(st: Pick<RunStatus, 'calibration' | 'judgeAccepted'>, onFail: string | undefined): string[] {
  if (onFail === undefined) return ['judge calibration: skipped (judge.calibration is false in the config): the Judge is uncalibrated'];
  if (!st.calibration?.length) return ['judge calibration: none recorded (the run ended before it calibrated)'];
  return st.calibration.map((o: CalibrationOutcome) => {
    if ('skipped' in o) return `judge calibration (${o.domain}): skipped: ${o.skipped}`;
    const line = `judge calibration (${o.domain}${o.cached ? ', cached' : ''}): ${calibrationLine(o.report)}`;
    if (o.report.passed) return line;
    const goneOn = st.judgeAccepted ? `went on by --accept-judge${st.judgeAccepted.by ? ` (${st.judgeAccepted.by})` : ''}` : `went on (onFail "${onFail}")`;
    return `${line}. The run ${goneOn}: the executed check below, not this Judge, is the gate that matters here`;
  });
}

/** Rejections by reason over every domain, only those that happened, most frequent first. */
export function rejectionLine(st: Pick<RunStatus, 'domains'>): string {
  const total = new Map<string, number>();
  for (const d of Object.values(st.domains)) for (const [k, n] of Object.entries(d.rejected)) if (n > 0) total.set(k, (total.get(k) ?? 0) + n);
  const parts = [...total].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${k} ${n}`);
  return `rejections by reason: ${parts.join(', ') || 'none'}`;
}

/** The verified gate's tallies over every domain. */
export function verificationLine(st: Pick<RunStatus, 'domains'>): string {
  const t = { checked: 0, confirmed: 0, acceptedVerified: 0, judgeOverruled: 0 };
  for (const d of Object.values(st.domains)) {
    const v = d.verification;
    if (!v) continue;
    t.checked += v.checked;
    t.confirmed += v.confirmed;
    t.acceptedVerified += v.acceptedVerified;
    t.judgeOverruled += v.judgeOverruled;
  }
  const accepted = Object.values(st.domains).reduce((n, d) => n + d.accepted, 0);
  return `executed check: ${t.confirmed} of ${t.checked} references confirmed by their program; ${t.acceptedVerified} of ${accepted} accepted examples have a confirmed reference; the Judge overruled ${t.judgeOverruled}×`;
}

type Transcript = { attack?: Attack; verification?: Verification };

/** Each accepted example: its question, its stated answer, what its program printed, and the program. */
export function acceptedLines(records: EpisodeRecord[]): string[] {
  return records
    .filter((r) => r.summary.outcome === 'accepted')
    .flatMap((r) => {
      const t = r.transcript as Transcript;
      const v = t.verification;
      const printed = v?.program ? (v.program.stdout.trim().split('\n').at(-1) ?? '') : undefined;
      const check = v?.program
        ? `program printed ${JSON.stringify(printed)}${v.referenceVerified ? '' : ' (NOT the stated answer)'}`
        : `no program ran (${v ? v.detail : 'an episode from before the verified gate'})`;
      return [
        `  ${r.domain} #${r.episode}: ${oneLine(t.attack?.question ?? '?', 200)}`,
        `      stated answer ${JSON.stringify(t.attack?.referenceAnswer ?? '?')} · ${check}${v?.program ? ` · program: ${oneLine(v.program.code, 120)}` : ''}`,
      ];
    });
}

/** Episodes that failed (a model answer that never fit its schema, a step that gave up), with the first one's error; undefined when none did. */
export function failedLine(records: EpisodeRecord[]): string | undefined {
  const failed = records.filter((r) => r.summary.outcome === 'failed');
  if (failed.length === 0) return undefined;
  return `${failed.length} of ${records.length} episodes failed, e.g. #${failed[0]!.episode}: ${oneLine(failed[0]!.summary.error ?? 'no error recorded', 300)}`;
}

/** The closing word: what the examples are, and what they are not. */
export function honestyLine(players: string, embedded: boolean, accepted: number): string {
  if (embedded) {
    return `the embedded 135M model only exercises the pipeline: ${accepted ? 'what it got through the gate shows the checks at work; it is' : 'nothing it wrote got through, and that is'} not a dataset to train on. For data, play a real model: npm run demo -- --help`;
  }
  if (accepted === 0) return `nothing that ${players} wrote got through the gate in this run`;
  return `examples written and judged by ${players}: read them (and the Judge's calibration above) before training on them`;
}

/** Why nothing was accepted, when nothing was. */
export function nothingAcceptedLine(st: Pick<RunStatus, 'episodes'>): string {
  return `no example was accepted in ${st.episodes} episodes (rejected for the reasons above), so there is no dataset to show`;
}
