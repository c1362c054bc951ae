import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paperReportLines } from '../../scripts/lib/paper-report.js';

/** npm run demo:paper's verdict on its report (a complete report is checked in tests/workflow/paper-shape.test.ts). */
describe('the paper rehearsal\'s report check', () => {
  it('fails without a report, and names every part a report lacks and every cell not measured', () => {
    expect(paperReportLines(undefined)).toEqual({ lines: ['FAILED: no report was written'], complete: false });
    const path = join(mkdtempSync(join(tmpdir(), 'nanoflux-paper-report-')), 'report.md');
    writeFileSync(path, [
      '## The Judge and the generated dataset',
      '- tuned − base: +3.3 points (tuned 6.7%, base 3.3% on 30 paired items); 95% CI -3.3 to +10.0 points (paired bootstrap); McNemar exact p = 1.00 (1 items right only for tuned, 0 only for base).',
      '| generation tokens | 1,200 (attacker 400 · defender 400 · judge 400 · embedding 0) | none (trained on a given file) |',
      '| fine-tune device-hours | not measured (no hardware record) | not measured (no hardware record) |',
    ].join('\n'));
    const r = paperReportLines(path);
    expect(r.complete).toBe(false);
    expect(r.lines).toContain('not measured, with the report\'s reason: no hardware record');
    expect(r.lines.at(-1)).toBe('FAILED: the report lacks paired test tuned − full-train, training-compute ratio, whole-compute ratio, ablation by complexity, seeded, ablation by quality, seeded');
  });
});
