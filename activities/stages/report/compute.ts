import type { Hardware, TokensByRole } from '../../../common/contracts/index.js';
import { thousands } from './format.js';
import type { GenerationCompute, ReportedVariant, ReportInput } from './types.js';
import { domainScores } from './variants.js';
import { totalTokens } from '../../../common/tokens-by-role.js';

/**
 * The whole compute of NanoFlux against each baseline (issue 14, item 6): what generating the set
 * took (frontier-model tokens and USD by role, wall time), what fine-tuning took (tokens, wall time,
 * device-hours from the trainer's recorded hardware) and what evaluating took (tokens, wall time).
 * Pure. A quantity nobody measured is a `missing` with its reason, never a 0: a sum or ratio that
 * needs it is missing too, naming the part, so no total passes for more complete than it is.
 */

export type Measure = { value: number } | { missing: string };

export const measured = (value: number): Measure => ({ value });
export const missing = (why: string): Measure => ({ missing: why });
export const isMeasured = (m: Measure): m is { value: number } => 'value' in m;

export interface PartCompute {
  tokens: Measure;
  usd: Measure;
  wallSeconds: Measure;
  deviceHours: Measure;
}

export interface SideCompute {
  variant: string;
  /** null: the training data was given (a baseline's file), nothing was generated for it. */
  generation: (PartCompute & { byRole: { tokens: TokensByRole; cost: TokensByRole } | null }) | null;
  finetune: PartCompute & { hardware: string };
  evaluation: PartCompute & { hardware: string };
  total: PartCompute;
}

/** Baseline ÷ NanoFlux: above 1× NanoFlux used less. */
export interface ComputeRatios {
  /** Fine-tuning alone: what the paper's 3–14× is usually read as. */
  training: { tokens: Measure; wallSeconds: Measure; deviceHours: Measure };
  /** Generation + fine-tune + evaluation. */
  whole: PartCompute;
}

export interface DomainCompute {
  domain: string;
  benchmark: string;
  nanoflux: SideCompute;
  baselines: { side: SideCompute; ratios: ComputeRatios }[];
}


/** A part of a total: its name (for the reason a total is missing) and its measure. */
type Part = [name: string, m: Measure];

/** The sum of the parts, or missing naming every part that was not measured. */
export function sumOf(parts: Part[]): Measure {
  const gaps = parts.filter(([, m]) => !isMeasured(m)).map(([name]) => name);
  if (gaps.length > 0) return missing(`${gaps.length > 1 ? `${gaps.slice(0, -1).join(', ')} and ${gaps.at(-1)}` : gaps[0]} not measured`);
  return measured(parts.reduce((a, [, m]) => a + (m as { value: number }).value, 0));
}

/** `of ÷ to`, missing when either side is, or when NanoFlux's side is 0 (no ratio to a zero). */
export function ratioOf(of: Measure, to: Measure, names: { of: string; to: string }): Measure {
  if (!isMeasured(of)) return missing(`${names.of}: ${of.missing}`);
  if (!isMeasured(to)) return missing(`${names.to}: ${to.missing}`);
  if (to.value <= 0) return missing(`0 for ${names.to}`);
  return measured(of.value / to.value);
}

export const describeHardware = (h: Hardware): string =>
  `${h.devices} × ${h.name ?? 'unnamed device'} (${h.kind}${h.kind === 'cpu' && h.threads ? `, ${h.threads} threads` : ''})`;

const sameHardware = (a: Hardware, b: Hardware): boolean => a.kind === b.kind && a.name === b.name;

const hours = (h: Hardware | null | undefined, seconds: number): Measure | null => (h ? measured((h.devices * seconds) / 3600) : null);

function generationSide(g: GenerationCompute | undefined): NonNullable<SideCompute['generation']> {
  if (!g) {
    const none = missing('no record of it: the run exported no episodes, or the report was written without it');
    return { tokens: none, usd: none, wallSeconds: none, deviceHours: none, byRole: null };
  }
  const elsewhere = g.imported.examples > 0 ? `${g.imported.examples} examples were generated in ${g.imported.runs.join(', ')} and are not counted here` : null;
  const tokens = elsewhere ? missing(`${elsewhere} (this run's: ${thousands(totalTokens(g.tokens))})`) : measured(totalTokens(g.tokens));
  const usdGap = [
    ...(g.unpriced === null ? ["the report was not told which models have prices"] : g.unpriced.length > 0 ? [`${g.unpriced.join(', ')} played by a model with no price`] : []),
    ...(g.uncosted > 0 ? [`${g.uncosted} episodes recorded before prices`] : []),
    ...(elsewhere ? [elsewhere] : []),
  ];
  const usd = usdGap.length > 0 ? missing(usdGap.join('; ')) : measured(totalTokens(g.cost));
  const wallSeconds =
    g.wallSeconds === null
      ? missing('no run workflow recorded it')
      : g.domains > 1
        ? missing(`${g.domains} domains generated side by side in one run; its generation time is not split by domain`)
        : elsewhere
          ? missing(elsewhere)
          : measured(g.wallSeconds);
  return { tokens, usd, wallSeconds, deviceHours: missing("the models' servers' hardware is not known here"), byRole: { tokens: g.tokens, cost: g.cost } };
}

function finetuneSide(v: ReportedVariant): SideCompute['finetune'] {
  const t = v.train;
  if (!t) {
    const none = missing('not trained');
    return { tokens: none, usd: none, wallSeconds: none, deviceHours: none, hardware: 'not trained' };
  }
  const provider = t.backend === 'openai';
  const device = t.hardware ? describeHardware(t.hardware) : provider ? 'unknown (provider)' : 'not recorded by the trainer';
  return {
    tokens: t.trainTokens === null ? missing(`the ${t.backend} backend did not report it`) : measured(t.trainTokens),
    usd: missing(provider ? "the provider's fine-tuning charge is not recorded" : 'device time has no price in the config'),
    wallSeconds: measured(t.wallSeconds),
    deviceHours: hours(t.hardware, t.wallSeconds) ?? missing(provider ? 'unknown (provider)' : 'the trainer recorded no hardware'),
    hardware: device,
  };
}

function evaluationSide(v: ReportedVariant): SideCompute['evaluation'] {
  const e = v.evaluation;
  if (!e) {
    const none = missing('predicted before evaluation was measured');
    return { tokens: none, usd: none, wallSeconds: none, deviceHours: none, hardware: 'not recorded' };
  }
  const usd = missing(e.via === 'endpoint' ? "the endpoint's price is not in the config" : 'device time has no price in the config');
  const hardware = e.hardware ? describeHardware(e.hardware) : e.via === 'endpoint' ? 'the endpoint’s (unknown)' : 'not recorded';
  if (e.measuredItems < e.items) {
    const part = missing(`measured on ${e.measuredItems} of ${e.items} items (the other batches were predicted before measurement)`);
    return { tokens: part, usd, wallSeconds: part, deviceHours: part, hardware };
  }
  return {
    tokens: e.promptTokens === null || e.completionTokens === null ? missing('the endpoint returned no token usage') : measured(e.promptTokens + e.completionTokens),
    usd,
    wallSeconds: measured(e.wallSeconds),
    deviceHours: hours(e.hardware, e.wallSeconds) ?? missing(e.via === 'endpoint' ? "served by an endpoint: its hardware is not known here" : 'the trainer recorded no hardware'),
    hardware,
  };
}

/** Device-hours are added only on one kind of device: an hour of a CPU is not an hour of an H100. */
function deviceHoursTotal(parts: Part[], devices: (Hardware | null | undefined)[]): Measure {
  const sum = sumOf(parts);
  if (!isMeasured(sum)) return sum;
  const known = devices.filter((h): h is Hardware => !!h);
  return known.every((h) => sameHardware(h, known[0]!)) ? sum : missing(`on different hardware (${[...new Set(known.map(describeHardware))].join(', ')})`);
}

export function sideCompute(v: ReportedVariant, generation: GenerationCompute | undefined | null): SideCompute {
  const gen = generation === null ? null : generationSide(generation);
  const ft = finetuneSide(v);
  const ev = evaluationSide(v);
  const parts = (pick: (p: PartCompute) => Measure): Part[] => [...(gen ? [['generation', pick(gen)] as Part] : []), ['fine-tune', pick(ft)], ['evaluation', pick(ev)]];
  return {
    variant: v.variant,
    generation: gen,
    finetune: ft,
    evaluation: ev,
    total: {
      tokens: sumOf(parts((p) => p.tokens)),
      usd: sumOf(parts((p) => p.usd)),
      wallSeconds: sumOf(parts((p) => p.wallSeconds)),
      deviceHours: deviceHoursTotal(parts((p) => p.deviceHours), [v.train?.hardware, v.evaluation?.hardware]),
    },
  };
}

function ratios(base: SideCompute, nano: SideCompute, baseTrain: Hardware | undefined, nanoTrain: Hardware | undefined): ComputeRatios {
  const names = { of: base.variant, to: 'NanoFlux' };
  const r = (pick: (s: SideCompute) => Measure) => ratioOf(pick(base), pick(nano), names);
  const comparable = !baseTrain || !nanoTrain || sameHardware(baseTrain, nanoTrain);
  const differs = missing(`trained on different hardware (${baseTrain && describeHardware(baseTrain)} vs ${nanoTrain && describeHardware(nanoTrain)})`);
  return {
    training: { tokens: r((s) => s.finetune.tokens), wallSeconds: r((s) => s.finetune.wallSeconds), deviceHours: comparable ? r((s) => s.finetune.deviceHours) : differs },
    whole: { tokens: r((s) => s.total.tokens), usd: r((s) => s.total.usd), wallSeconds: r((s) => s.total.wallSeconds), deviceHours: r((s) => s.total.deviceHours) },
  };
}

/**
 * A domain's compute on one benchmark: NanoFlux is `tuned` with the generation that made its set,
 * every other trained whole-set variant (full-train, user baselines) a baseline trained on given
 * data. Null when `tuned` was not scored there (nothing to compare against).
 */
export function domainCompute(domain: string, benchmark: string, comparisons: ReportedVariant[], generation: GenerationCompute | undefined): DomainCompute | null {
  const here = comparisons.filter((v) => v.benchmark === benchmark && v.cut === undefined);
  const tuned = here.find((v) => v.variant === 'tuned');
  if (!tuned) return null;
  const nanoflux = sideCompute(tuned, generation);
  const baselines = here
    .filter((v) => v.variant !== 'base' && v.variant !== 'tuned')
    .map((v) => {
      const side = sideCompute(v, null);
      return { side, ratios: ratios(side, nanoflux, v.train?.hardware, tuned.train?.hardware) };
    });
  return { domain, benchmark, nanoflux, baselines };
}

/**
 * The compute of every domain and benchmark with a `tuned` variant, as compute.json beside report.md
 * keeps it (the numbers the report prints, with the reason wherever one is missing), and the
 * generation records they were built from.
 */
export function reportCompute(input: ReportInput): { domains: DomainCompute[]; generation: GenerationCompute[] | null } {
  const domains = domainScores(input).flatMap((d) => d.benchmarks.flatMap((b) => domainCompute(d.name, b, d.comparisons, input.generation?.find((g) => g.domain === d.name)) ?? []));
  return { domains, generation: input.generation ?? null };
}
