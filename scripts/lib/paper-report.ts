import { existsSync, readFileSync } from 'node:fs';

/**
 * What `npm run demo:paper` says about the report it produced: where it is, whether each part the
 * paper's claims rest on is there and filled (a part missing fails the rehearsal), and every cell
 * nobody measured, with the reason the report gives.
 */
const PARTS: { part: string; pattern: RegExp }[] = [
  { part: 'paired test tuned − base (McNemar, bootstrap)', pattern: /^- tuned − base: [+-][\d.]+ points .*paired bootstrap.*McNemar exact p/m },
  { part: 'paired test tuned − full-train', pattern: /^- tuned − full-train: [+-][\d.]+ points .*McNemar exact p/m },
  { part: 'training-compute ratio', pattern: /^- Training compute \(fine-tune only\), full-train ÷ NanoFlux: [\d.]+× the fine-tune tokens/m },
  { part: 'whole-compute ratio', pattern: /^- Whole compute \(generation \+ fine-tune \+ evaluation\), full-train ÷ NanoFlux: [\d.]+× the tokens/m },
  { part: 'compute table', pattern: /^\| generation tokens \| [\d,]+ \(attacker/m },
  { part: 'ablation by complexity, seeded', pattern: /### Ablation by complexity[\s\S]*?\n\| \d \| \d+ \([\d, ]+\) \| [\d.]+% \| [\d.]+ pts \|/ },
  { part: 'ablation by quality, seeded', pattern: /### Ablation by quality[\s\S]*?\n\| L\d \| \d+ \([\d, ]+\) \| [\d.]+% \| [\d.]+ pts \|/ },
  { part: "the Judge's calibration", pattern: /^## The Judge and the generated dataset/m },
];

export function paperReportLines(reportPath: string | undefined): { lines: string[]; complete: boolean } {
  if (!reportPath || !existsSync(reportPath)) return { lines: ['FAILED: no report was written'], complete: false };
  const md = readFileSync(reportPath, 'utf8');
  const missing = PARTS.filter((p) => !p.pattern.test(md)).map((p) => p.part);
  const cutRows = (axis: string) => (new RegExp(`### Ablation by ${axis}\\n[\\s\\S]*?(?=\\n###|\\n!\\[|$)`).exec(md)?.[0].split('\n').filter((l) => /^\| (\d|L\d) \|/.test(l)).length ?? 0);
  const gaps = [...new Set([...md.matchAll(/not measured \(([^)]*)\)/g)].map((m) => m[1]!))];
  return {
    lines: [
      `report: ${reportPath}`,
      `in it: paired tests (tuned − base, tuned − full-train, each cut − base and − the cut before), ${cutRows('complexity')} complexity and ${cutRows('quality')} quality cuts with their seeds, the compute of NanoFlux and full-train with both ratios`,
      ...(gaps.length > 0 ? [`not measured, with the report's reason: ${gaps.join('; ')}`] : []),
      ...(missing.length > 0 ? [`FAILED: the report lacks ${missing.join(', ')}`] : []),
    ],
    complete: missing.length === 0,
  };
}
