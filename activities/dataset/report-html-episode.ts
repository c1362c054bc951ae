import type { Attack, Defense, JudgeVerdict, ToolCallRecord, Verification } from '../../common/contracts/index.js';
import type { EpisodeRecord } from '../store/ledger.js';
import { clip, esc, htmlTable } from './report-html-assets.js';

/**
 * One episode of report.html. The transcript is the ledger's (workflows/episode.ts writes it) and
 * may come from any version of the episode, so every part of it is optional here, and every value
 * is escaped: the question, the steps, the program, its output, the Judge's words and tool calls
 * were all written by models.
 */
interface Transcript {
  attack?: Partial<Attack>;
  defenses?: Partial<Defense>[];
  verdict?: Partial<JudgeVerdict>;
  judgeModel?: string;
  toolCalls?: Partial<ToolCallRecord>[];
  verification?: Partial<Verification>;
  rejection?: string;
}

const list = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);
const yesNo = (v: unknown): string => (v === true ? 'yes' : v === false ? 'no' : '—');
const pre = (v: unknown, cls = ''): string => `<pre${cls ? ` class="${cls}"` : ''}>${esc(clip(v))}</pre>`;

/** Label/value rows, leaving out what the episode does not have. */
function facts(pairs: [string, unknown][]): string {
  const rows = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return rows.length ? `<dl class="facts">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>` : '';
}

function attackPart(a: Partial<Attack> | undefined): string {
  if (!a) return '<p>No attack was recorded (the episode failed before one, or its transcript predates it).</p>';
  const steps = list(a.solutionSteps).map((s) => `<li>${esc(clip(s, 2000))}</li>`).join('');
  return `<p class="q">${esc(clip(a.question))}</p>` +
    facts([['reference answer', clip(a.referenceAnswer, 1000)], ['skill', a.skill]]) +
    `<details><summary>Reference steps (${list(a.solutionSteps).length}) and pitfall note</summary><ol class="steps">${steps}</ol>${a.annotation ? `<p>${esc(clip(a.annotation, 2000))}</p>` : ''}</details>`;
}

const REFERENCE: Record<string, string> = { true: 'confirmed', false: 'refuted or unconfirmed', null: 'no check applies: decided by the Judge' };

function checkPart(v: Partial<Verification> | undefined): string {
  if (!v) return '';
  const p = v.program;
  const program = p
    ? `<h3>Program</h3>${pre(p.code, 'program')}<h3>What it printed</h3>${pre(p.stdout || '(nothing)', 'stdout')}${p.error ? `<h3>Error</h3>${pre(p.error, 'error')}` : ''}`
    : '';
  const decided = list(v.defenderDecidedBy);
  const d = v.disagreements;
  const overruled = [d?.reference ? 'the reference' : '', d && d.defenders > 0 ? `${d.defenders} Defender answer${d.defenders === 1 ? '' : 's'}` : ''].filter(Boolean);
  return `<section class="check" data-verified="${esc(String(v.referenceVerified))}"><h3>Executed check</h3>` +
    facts([
      ['method', v.method],
      ['reference', v.referenceVerified === undefined ? undefined : REFERENCE[String(v.referenceVerified)]],
      ['detail', v.detail],
      ['ran for', p ? `${p.durationMs} ms` : undefined],
      ['Defender decided by', decided.length ? decided.join(', ') : undefined],
      ['Judge overruled on', overruled.length ? overruled.join(' and ') : decided.length ? 'nothing' : undefined],
    ]) +
    `${program}</section>`;
}

/**
 * The final word on each Defender answer: the Judge's, unless a rule decided it and overruled the
 * Judge. The transcript counts overrulings, not which answer, so where a rule overruled some but not
 * all of its answers the final word is not known here ('—').
 */
function finalWord(judge: boolean[], decided: string[], overruled: number): (boolean | undefined)[] {
  const byRule = decided.filter((d) => d === 'rule').length;
  return judge.map((j, i) => (decided[i] !== 'rule' ? j : overruled === 0 ? j : overruled === byRule ? !j : undefined));
}

function defensesPart(defenses: Partial<Defense>[], verdict: Partial<JudgeVerdict> | undefined, v: Partial<Verification> | undefined): string {
  if (defenses.length === 0) return '';
  const judge = list(verdict?.defendersCorrect);
  const decided = list(v?.defenderDecidedBy);
  const final = finalWord(judge, decided, v?.disagreements?.defenders ?? 0);
  const rows = defenses.map((d, i) => [i + 1, clip(d.answer, 1000), yesNo(judge[i]), decided[i] ?? 'judge', yesNo(final[i]), { html: `<details><summary>reasoning</summary>${pre(d.reasoning)}</details>` }]);
  return `<h3>Defender</h3>${htmlTable(['#', 'answer', 'the Judge said correct', 'decided by', 'correct (final)', 'reasoning'], rows)}`;
}

function verdictPart(v: Partial<JudgeVerdict> | undefined, judgeModel: string | undefined): string {
  if (!v) return '';
  const rows = [
    ['questionValid', yesNo(v.questionValid)],
    ['referenceCorrect', yesNo(v.referenceCorrect)],
    ['defendersCorrect', list(v.defendersCorrect).map(yesNo).join(', ') || '—'],
    ['complexity', v.complexity ?? '—'],
    ['hops', v.hops ?? '—'],
    ['quality', typeof v.quality === 'number' ? v.quality.toFixed(1) : '—'],
  ];
  return `<section class="verdict"><h3>Judge's verdict${judgeModel ? ` (${esc(judgeModel)})` : ''}</h3>${htmlTable(['field', 'verdict'], rows)}<p class="explanation">${esc(clip(v.explanation, 3000))}</p></section>`;
}

function toolsPart(calls: Partial<ToolCallRecord>[]): string {
  if (calls.length === 0) return '';
  const rows = calls.map((c) => [c.tool ?? '—', { html: pre(c.input) }, { html: pre(c.output) }, c.error ?? '', c.durationMs === undefined ? '—' : `${c.durationMs} ms`]);
  return `<section class="tools"><h3>Judge's tool calls (${calls.length})</h3>${htmlTable(['tool', 'input', 'output', 'error', 'time'], rows)}</section>`;
}

function nearestPart(n: EpisodeRecord['summary']['nearest']): string {
  if (!n) return '';
  return `<section class="nearest"><h3>Nearest neighbour</h3>${facts([['similarity', n.score.toFixed(3)], ['source', n.source], ['id', n.id]])}<p>${esc(clip(n.text, 2000))}</p></section>`;
}

function scoresFacts(e: EpisodeRecord): string {
  const s = e.summary.scores;
  const r = e.summary.review;
  return facts([
    ['topic', e.summary.topic],
    ['attacker', e.summary.attackerSlot?.toUpperCase()],
    ['target complexity', e.summary.targetComplexity],
    ['scores', s ? `complexity ${s.complexity}, hops ${s.hops}, quality ${s.quality.toFixed(1)} (${s.qualityLevel}), novelty ${s.novelty.toFixed(3)}` : undefined],
    ['solve rate', s?.solveRate === undefined ? undefined : s.solveRate.toFixed(2)],
    ['review', r ? `${r.approve ? 'approved' : 'rejected'}${r.reviewer ? ` by ${r.reviewer}` : ''}${r.note ? `: ${r.note}` : ''}` : undefined],
    ['example', e.summary.exampleId],
  ]);
}

/** What each outcome means, for an episode whose record says no more (e.g. `defender_correct`). */
const MEANING: Record<string, string> = {
  accepted: 'kept: a valid question, its reference confirmed (how: below), novel, and the Defender got it wrong',
  duplicate: 'too close to a stored question or a benchmark test item (see the nearest neighbour)',
  defender_correct: 'the Defender answered it correctly, so it teaches nothing',
  too_hard: 'fewer Defender samples solved it than the solve-rate band allows',
  invalid_question: 'the Judge found the question ill-posed',
  reference_wrong: 'the reference answer is wrong (by the executed check or the Judge)',
  reference_unverified: 'the executed check could not confirm the reference',
  failed: 'a step failed for good',
  rejected_in_review: 'a reviewer rejected it',
  prompt_leak: 'junk: prompt or template text in the question or steps',
  degenerate_steps: 'junk: empty or degenerate solution steps',
  repeated_tokens: 'junk: the text repeats itself',
  no_question: 'junk: the question asks nothing',
  answer_unparseable: 'junk: the final answer is absent or unparseable for the domain',
};

const traceLink = (t: { id: string; url?: string } | undefined): string =>
  !t ? '' : t.url ? ` <a class="trace" href="${esc(t.url)}" target="_blank" rel="noopener noreferrer">trace ${esc(t.id)}</a>` : ` <span class="trace">trace ${esc(t.id)}</span>`;

/** `link`: the episode's page in the Temporal web UI; `level`: its quality level for the filter; `trace`: its OpenTelemetry trace. */
export function episodeHtml(e: EpisodeRecord, link: string | undefined, level: string, trace?: { id: string; url?: string }): string {
  const t = (e.transcript && typeof e.transcript === 'object' ? e.transcript : {}) as Transcript;
  const s = e.summary;
  const why = t.rejection ?? s.rejection;
  return `<article class="episode" id="${esc(`ep-${e.domain}-${e.episode}`)}" data-outcome="${esc(s.outcome)}" data-level="${esc(level)}" data-complexity="${esc(s.scores?.complexity ?? '')}" data-domain="${esc(e.domain)}">
<h2><span class="outcome outcome-${esc(s.outcome)}">${esc(s.outcome)}</span> ${esc(e.domain)} episode ${esc(e.episode)}${link ? ` <a class="web-ui" href="${esc(link)}" target="_blank" rel="noopener noreferrer">open in the Temporal web UI</a>` : ''}${traceLink(trace)}</h2>
<p class="meaning">${esc(MEANING[s.outcome] ?? s.outcome)}</p>${why ? `<p class="rejection">Why: ${esc(clip(why, 2000))}</p>` : ''}${s.error ? `<p class="rejection">Error: ${esc(clip(s.error, 2000))}</p>` : ''}
${scoresFacts(e)}
${attackPart(t.attack)}
${checkPart(t.verification)}
${defensesPart(list(t.defenses), t.verdict, t.verification)}
${verdictPart(t.verdict, t.judgeModel)}
${toolsPart(list(t.toolCalls))}
${nearestPart(s.nearest)}
</article>`;
}
