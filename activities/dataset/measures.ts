import { calibrationLine, type CalibrationOutcome, pct, VERDICT_FIELDS } from '../../common/contracts/calibration.js';
import type { TrainingExample } from '../../common/contracts/index.js';
import type { EpisodeRecord } from '../store/ledger.js';

/**
 * What a run measured about its own verdicts, computed once for the dataset card, report.html and
 * report.md: the Judge's calibration, how many accepted references an executed check confirmed,
 * how much the Judge used its tools and where the checks overruled it, and whether its complexity
 * and quality scores tell examples apart. Pure; every sentence is plain text the caller escapes.
 */

/** The Judge's calibration as the run workflow holds it (workflows/run.ts st.calibration, st.judgeAccepted). */
export interface RunCalibration {
  calibration?: CalibrationOutcome[];
  /** Set when an operator went on with a Judge that failed its calibration (`nanoflux resume --accept-judge`). */
  judgeAccepted?: { by?: string };
}

/** One level holding more than this share of the accepted examples: the Judge's score does not tell them apart. */
export const NOT_DISCRIMINATING_SHARE = 0.8;
/** Below this many examples any level holds "most" of them: too few to call the Judge undiscriminating. */
export const MIN_EXAMPLES_TO_FLAG = 3;

export interface Distribution {
  /** `complexity` or `quality level`. */
  name: string;
  counts: { level: string; count: number }[];
  n: number;
  /** The level with the most examples when it holds more than NOT_DISCRIMINATING_SHARE of at least MIN_EXAMPLES_TO_FLAG. */
  notDiscriminating?: { level: string; count: number; share: number };
}

function distribution(name: string, levels: string[], values: string[]): Distribution {
  const counts = [...levels, ...[...new Set(values)].filter((v) => !levels.includes(v)).sort()].map((level) => ({ level, count: values.filter((v) => v === level).length }));
  const top = counts.reduce((a, b) => (b.count > a.count ? b : a), { level: '', count: 0 });
  const n = values.length;
  const flagged = n >= MIN_EXAMPLES_TO_FLAG && top.count / n > NOT_DISCRIMINATING_SHARE;
  return { name, counts, n, ...(flagged ? { notDiscriminating: { ...top, share: top.count / n } } : {}) };
}

/** Complexity 1–5 and quality L1–L5 over the accepted examples, every level shown even at zero. */
export function levelDistributions(examples: TrainingExample[]): Distribution[] {
  return [
    distribution('complexity', ['1', '2', '3', '4', '5'], examples.map((e) => String(e.complexity))),
    distribution('quality level', ['L1', 'L2', 'L3', 'L4', 'L5'], examples.map((e) => e.qualityLevel)),
  ];
}

/** `quality level: not discriminating — L5 holds 10 of 11 accepted examples (91%)`, or why it is fine or untold. */
export function discriminationLine(d: Distribution): string {
  if (d.notDiscriminating) {
    const t = d.notDiscriminating;
    return `${d.name}: NOT DISCRIMINATING — level ${t.level} holds ${t.count} of ${d.n} accepted examples (${pct(t.share)}, over the ${pct(NOT_DISCRIMINATING_SHARE)} bar)`;
  }
  if (d.n < MIN_EXAMPLES_TO_FLAG) return `${d.name}: ${d.n} accepted example${d.n === 1 ? '' : 's'}, too few to tell whether the Judge's scores discriminate`;
  return `${d.name}: no level holds more than ${pct(NOT_DISCRIMINATING_SHARE)} of the ${d.n} accepted examples`;
}

export interface VerifiedShare {
  examples: number;
  /** Confirmed by an executed or deterministic check, by method. */
  confirmed: number;
  byMethod: { method: string; count: number }[];
  /** Accepted on the Judge's word alone (no check applies to the domain). */
  judgeOnly: number;
  /** Exported before the verified gate recorded how. */
  unrecorded: number;
}

export function verifiedShare(examples: TrainingExample[]): VerifiedShare {
  const confirmed = examples.filter((e) => e.verification?.verified === true);
  const methods = [...new Set(confirmed.map((e) => e.verification!.method))].sort();
  return {
    examples: examples.length,
    confirmed: confirmed.length,
    byMethod: methods.map((method) => ({ method, count: confirmed.filter((e) => e.verification!.method === method).length })),
    judgeOnly: examples.filter((e) => e.verification !== undefined && e.verification.verified !== true).length,
    unrecorded: examples.filter((e) => e.verification === undefined).length,
  };
}

/** Never "verified" where nothing was: the sentence says how many an executed check confirmed, and how the rest got in. */
export function verifiedLine(v: VerifiedShare): string {
  if (v.examples === 0) return 'No accepted examples, so no reference to verify.';
  const how = v.byMethod.map((m) => `${m.method === 'program' ? 'the Attacker\'s program run in the sandbox' : m.method === 'options' ? 'option match' : m.method}: ${m.count}`).join(', ');
  const rest = [
    v.judgeOnly ? `${v.judgeOnly} on the Judge's word alone (no executed check applies)` : '',
    v.unrecorded ? `${v.unrecorded} exported before checks were recorded` : '',
  ].filter(Boolean);
  const lead = v.confirmed === 0
    ? `No accepted example's reference was confirmed by an executed check (0 of ${v.examples})`
    : `${v.confirmed} of ${v.examples} accepted examples (${pct(v.confirmed / v.examples)}) have a reference confirmed by an executed check (${how})`;
  return `${lead}${rest.length ? `; ${rest.join('; ')}` : ''}.`;
}

export interface JudgeUse {
  /** Episodes the Judge ruled on (they have scores). */
  verdicts: number;
  toolCalls: number;
  /** Episodes where a deterministic check overruled the Judge (reference or a Defender answer). */
  overruled: number;
  /** Episodes whose Defender answers were decided by rule, not by the Judge. */
  byRule: number;
}

export function judgeUse(episodes: EpisodeRecord[]): JudgeUse {
  const judged = episodes.filter((e) => e.summary.scores !== undefined);
  return {
    verdicts: judged.length,
    toolCalls: judged.reduce((s, e) => s + (e.summary.toolCalls ?? 0), 0),
    overruled: episodes.filter((e) => e.summary.verification && (e.summary.verification.disagreements.reference || e.summary.verification.disagreements.defenders > 0)).length,
    byRule: episodes.filter((e) => e.summary.verification?.defenderDecidedBy.some((d) => d === 'rule')).length,
  };
}

export function judgeUseLine(u: JudgeUse): string {
  if (u.verdicts === 0) return 'The Judge gave no verdict in this run.';
  return `${u.toolCalls} Judge tool calls over ${u.verdicts} verdicts: ${(u.toolCalls / u.verdicts).toFixed(2)} per verdict. ` +
    `Defender answers decided by rule (number or option) in ${u.byRule} episode${u.byRule === 1 ? '' : 's'}; ` +
    `the Judge overruled by a deterministic check in ${u.overruled} episode${u.overruled === 1 ? '' : 's'}.`;
}

/** One line per calibrated domain, then the operator's override; "not calibrated" when the run holds no calibration. */
export function calibrationSummary(c: RunCalibration): string[] {
  if (!c.calibration || c.calibration.length === 0) return ['The Judge was not calibrated for this run (calibration turned off, or a run from before it existed).'];
  const lines = c.calibration.map((o) => ('report' in o ? `${o.domain}: ${calibrationLine(o.report)}` : `${o.domain}: the Judge was not calibrated (${o.skipped})`));
  if (c.judgeAccepted) lines.push(`The Judge was accepted below the bar by ${c.judgeAccepted.by ?? 'an operator'} (\`nanoflux resume --accept-judge\`): treat its verdicts with the figures above in mind.`);
  return lines;
}

/** Per domain and verdict field: agreement with the labels, its Wilson interval and n (rows for a table). */
export function calibrationRows(c: RunCalibration): string[][] {
  return (c.calibration ?? []).flatMap((o) =>
    'report' in o
      ? [
          ...VERDICT_FIELDS.map((f) => {
            const r = o.report.agreement[f];
            return [o.domain, f, pct(r.rate), `${pct(r.ci95.low)}–${pct(r.ci95.high)}`, `${r.k}/${r.n}`];
          }),
          [o.domain, 'bad items accepted', pct(o.report.badAccepted.rate), `${pct(o.report.badAccepted.ci95.low)}–${pct(o.report.badAccepted.ci95.high)}`, `${o.report.badAccepted.k}/${o.report.badAccepted.n}`],
        ]
      : [],
  );
}
