import { OUTCOMES, type TrainingExample } from '../../common/contracts/index.js';
import { type WebUi, workflowUrl } from '../../common/web-ui.js';
import type { EpisodeRecord } from '../store/ledger.js';
import { clip, CSP, esc, htmlTable, SCRIPT, STYLE } from './report-html-assets.js';
import { episodeHtml } from './report-html-episode.js';
import { calibrationRows, calibrationSummary, discriminationLine, judgeUse, judgeUseLine, levelDistributions, MIN_EXAMPLES_TO_FLAG, type RunCalibration, verifiedLine, verifiedShare } from './measures.js';

/**
 * report.html: every episode of a run, accepted and rejected, with why — the verdict, the executed
 * check and what it printed, the Judge's tool calls, the nearest neighbour of a duplicate, a link
 * to the episode in the Temporal web UI — under a header of what the run measured about its
 * verdicts. One self-contained file (activities/dataset/report-html-assets.ts), deterministic given
 * its input, so a re-run export rewrites the same bytes.
 */
export interface ReportHtmlInput extends RunCalibration {
  runId: string;
  episodes: EpisodeRecord[];
  /** The accepted examples as exported (the distributions and the verified share are over these). */
  examples: TrainingExample[];
  /** Where episode links point; none without it. */
  webUi?: WebUi;
  /** A tracing UI's URL with `{traceId}` (and `{spanId}`, the episode's record): each traced episode's trace is linked; shown unlinked without it. */
  traceUrl?: string;
}

const share = (n: number, total: number): string => (total === 0 ? '—' : `${((100 * n) / total).toFixed(1)}%`);

/** Known outcomes in their declared order, then any this version does not know (an older or newer ledger). */
function outcomeOrder(seen: Iterable<string>): string[] {
  const known = OUTCOMES as readonly string[];
  return [...known.filter((o) => [...seen].includes(o)), ...[...new Set(seen)].filter((o) => !known.includes(o)).sort()];
}

const countOf = (values: string[], v: string): number => values.filter((x) => x === v).length;

function outcomesSection(episodes: EpisodeRecord[]): string {
  const outcomes = episodes.map((e) => e.summary.outcome as string);
  const rows = outcomeOrder(outcomes).map((o) => [o, countOf(outcomes, o), share(countOf(outcomes, o), outcomes.length)]);
  return `<div><h3>Episodes by outcome</h3>${htmlTable(['outcome', 'episodes', 'share'], rows, [1, 2])}</div>`;
}

function calibrationSection(c: RunCalibration): string {
  const rows = calibrationRows(c);
  const lines = calibrationSummary(c).map((l) => `<li${/FAILED|below the bar|not calibrated/.test(l) ? ' class="flag"' : ''}>${esc(l)}</li>`);
  return `<div id="calibration"><h3>The Judge's calibration</h3><ul>${lines.join('')}</ul>${rows.length ? htmlTable(['domain', 'verdict field', 'agreement', '95% CI', 'k/n'], rows, [2, 3, 4]) : ''}</div>`;
}

function levelsSection(examples: TrainingExample[]): string {
  const parts = levelDistributions(examples).map((d) => {
    const cls = d.notDiscriminating ? 'flag' : d.n < MIN_EXAMPLES_TO_FLAG ? 'muted' : 'ok';
    const row = d.counts.map((c) => ({ html: `${c.count}<br><small>${share(c.count, d.n)}</small>` }));
    return `${htmlTable([d.name, ...d.counts.map((c) => c.level)], [['examples', ...row]], d.counts.map((_, i) => i + 1))}<p class="${cls}" data-flag="${d.notDiscriminating ? 'not-discriminating' : ''}">${esc(discriminationLine(d))}</p>`;
  });
  return `<div id="levels"><h3>Scores of the accepted examples</h3>${parts.join('')}</div>`;
}

function header(input: ReportHtmlInput): string {
  const accepted = input.episodes.filter((e) => e.summary.outcome === 'accepted').length;
  const verified = `<p id="verified">${esc(verifiedLine(verifiedShare(input.examples)))}</p>`;
  const tools = `<p id="judge-use">${esc(judgeUseLine(judgeUse(input.episodes)))}</p>`;
  return `<header><h1>NanoFlux run <code>${esc(input.runId)}</code>: every episode and why</h1>
<p>${input.episodes.length} episodes, ${accepted} accepted (${share(accepted, input.episodes.length)}), ${input.examples.length} examples in the dataset. All text below the header was written by models: read it as data.</p>
<div class="measures">${outcomesSection(input.episodes)}${calibrationSection(input)}<div><h3>Verification</h3>${verified}${tools}</div>${levelsSection(input.examples)}</div></header>`;
}

const LEVELS = ['L1', 'L2', 'L3', 'L4', 'L5'];
/** The filter value of an episode the Judge never scored (junk, a refuted reference, a duplicate, a failure). */
export const UNSCORED = 'unscored';
export const episodeLevel = (e: EpisodeRecord): string => e.summary.scores?.qualityLevel ?? UNSCORED;

function filters(episodes: EpisodeRecord[]): string {
  const outcomes = episodes.map((e) => e.summary.outcome as string);
  const levels = episodes.map(episodeLevel);
  const option = (value: string, label: string, n: number) => `<option value="${esc(value)}">${esc(label)} (${n})</option>`;
  const levelValues = [...LEVELS, ...[...new Set(levels)].filter((l) => !LEVELS.includes(l) && l !== UNSCORED).sort(), UNSCORED];
  return `<nav id="filters"><label>Outcome <select id="filter-outcome">${option('', 'all', episodes.length)}${outcomeOrder(outcomes).map((o) => option(o, o, countOf(outcomes, o))).join('')}</select></label>` +
    `<label>Quality level <select id="filter-level">${option('', 'all', episodes.length)}${levelValues.map((l) => option(l, l, countOf(levels, l))).join('')}</select></label>` +
    `<span id="shown">${episodes.length} of ${episodes.length} episodes shown</span></nav>`;
}

/** An episode's trace, when it was traced: its id and, given a tracing UI, its URL there. */
const traceOf = (e: EpisodeRecord, template: string | undefined) => {
  const t = e.summary.trace;
  if (!t) return undefined;
  return { id: t.traceId, ...(template ? { url: template.replaceAll('{traceId}', t.traceId).replaceAll('{spanId}', t.spanId) } : {}) };
};

export function reportHtml(input: ReportHtmlInput): string {
  const link = (e: EpisodeRecord) => (input.webUi ? workflowUrl(input.webUi, e.workflowId) : undefined);
  const body = input.episodes.length === 0 ? '<p>No episode was recorded for this run.</p>' : input.episodes.map((e) => episodeHtml(e, link(e), episodeLevel(e), traceOf(e, input.traceUrl))).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NanoFlux run ${esc(clip(input.runId, 200))}: episodes</title>
<style>${STYLE}</style></head>
<body>
${header(input)}
${filters(input.episodes)}
<main>
${body}
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}
