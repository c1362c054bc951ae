import type { TokensByRole } from '../../../common/contracts/index.js';
import { type DomainCompute, isMeasured, type Measure, type SideCompute } from './compute.js';
import { duration, thousands } from './format.js';
import { ROLES } from '../../../common/tokens-by-role.js';

/**
 * The compute accounting in report.md: a table of every part for NanoFlux and each baseline, and per
 * baseline the two ratios the paper's claim can be read as, each named for what it counts. `md`
 * escapes free text (markdown.ts's), `note` adds what explains a baseline's length (budget.ts).
 */

export const COMPUTE_METHOD =
  'NanoFlux is `tuned` together with the generation that made its set: every episode of this run, rejected ones included. ' +
  'A baseline trains on a given file, so it generated nothing. Ratios are baseline ÷ NanoFlux: above 1×, NanoFlux used less (the paper claims 3–14×). ' +
  "Tokens of different models (the frontier models', the student's) are added as counted. The base model's evaluation and the ablation cuts are in neither column: neither side needs them. " +
  'A quantity nobody measured is "not measured", with why, and so is any total or ratio that needs it.';


export const usd = (x: number): string => (x !== 0 && Math.abs(x) < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`);

/** Device-hours to two significant digits: a CPU rehearsal's 0.0042 h must not print as 0.00. */
export const deviceHours = (h: number): string => `${h >= 10 ? h.toFixed(1) : Number(h.toPrecision(2)).toString()} device-h`;

/** A ratio as "9.0×"; two significant digits below 0.1× (a tiny ratio must not read as 0). */
export const times = (r: number): string => `${r >= 0.1 ? r.toFixed(1) : Number(r.toPrecision(2)).toString()}×`;

const cell = (m: Measure, show: (v: number) => string, md: (s: string) => string): string => (isMeasured(m) ? show(m.value) : `not measured (${md(m.missing)})`);

const byRole = (t: TokensByRole, show: (v: number) => string): string => ROLES.map((r) => `${r} ${show(t[r])}`).join(' · ');

const GIVEN = 'none (trained on a given file)';

type Row = [label: string, cells: (s: SideCompute) => string];

function rows(md: (s: string) => string): Row[] {
  const gen = (show: (g: NonNullable<SideCompute['generation']>) => string) => (s: SideCompute) => (s.generation ? show(s.generation) : GIVEN);
  return [
    ['generation tokens', gen((g) => `${cell(g.tokens, thousands, md)}${g.byRole ? ` (${byRole(g.byRole.tokens, thousands)})` : ''}`)],
    ['generation USD', gen((g) => `${cell(g.usd, usd, md)}${g.byRole ? ` (${byRole(g.byRole.cost, usd)})` : ''}`)],
    ['generation wall time', gen((g) => cell(g.wallSeconds, duration, md))],
    ['generation device-hours', gen((g) => cell(g.deviceHours, deviceHours, md))],
    ['fine-tune tokens', (s) => cell(s.finetune.tokens, thousands, md)],
    ['fine-tune wall time', (s) => cell(s.finetune.wallSeconds, duration, md)],
    ['fine-tune USD', (s) => cell(s.finetune.usd, usd, md)],
    ['fine-tune hardware', (s) => md(s.finetune.hardware)],
    ['fine-tune device-hours', (s) => cell(s.finetune.deviceHours, deviceHours, md)],
    ['evaluation tokens (prompt + completion)', (s) => cell(s.evaluation.tokens, thousands, md)],
    ['evaluation wall time', (s) => cell(s.evaluation.wallSeconds, duration, md)],
    ['evaluation USD', (s) => cell(s.evaluation.usd, usd, md)],
    ['evaluation hardware', (s) => md(s.evaluation.hardware)],
    ['evaluation device-hours', (s) => cell(s.evaluation.deviceHours, deviceHours, md)],
    ['everything: tokens', (s) => cell(s.total.tokens, thousands, md)],
    ['everything: USD', (s) => cell(s.total.usd, usd, md)],
    ['everything: wall time', (s) => cell(s.total.wallSeconds, duration, md)],
    ['everything: device-hours', (s) => cell(s.total.deviceHours, deviceHours, md)],
  ];
}

/** The table: one row per quantity, a column for NanoFlux and one per baseline. */
export function computeTable(c: DomainCompute, md: (s: string) => string): string {
  const sides = [c.nanoflux, ...c.baselines.map((b) => b.side)];
  const head = ['', 'NanoFlux (tuned + generation)', ...c.baselines.map((b) => md(b.side.variant))];
  const body = rows(md).map(([label, show]) => [label, ...sides.map(show)]);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const ratioPart = (m: Measure, what: string, md: (s: string) => string): string => (isMeasured(m) ? `${times(m.value)} the ${what}` : `${what} not measured (${md(m.missing)})`);

/**
 * Two lines per baseline, the same quantities in both so they can be set side by side: training
 * compute (fine-tune alone) and the whole compute (generation + fine-tune + evaluation).
 */
export function computeFindings(c: DomainCompute, on: string, md: (s: string) => string, note: (variant: string) => string): string[] {
  return c.baselines.flatMap(({ side, ratios: r }) => {
    const who = `${md(side.variant)} ÷ NanoFlux`;
    const training = [ratioPart(r.training.tokens, 'fine-tune tokens', md), ratioPart(r.training.wallSeconds, 'fine-tune wall time', md), ratioPart(r.training.deviceHours, 'fine-tune device-hours', md)];
    const whole = [ratioPart(r.whole.tokens, 'tokens', md), ratioPart(r.whole.usd, 'USD', md), ratioPart(r.whole.wallSeconds, 'wall time', md), ratioPart(r.whole.deviceHours, 'device-hours', md)];
    return [
      `- Training compute${on} (fine-tune only), ${who}: ${training.join(', ')}${note(side.variant)}.`,
      `- Whole compute${on} (generation + fine-tune + evaluation), ${who}: ${whole.join(', ')}.`,
    ];
  });
}
