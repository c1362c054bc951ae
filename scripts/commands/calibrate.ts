import type { Command } from 'commander';
import { CalibrationSchema } from '../../common/config.js';
import { type CalibrationOutcome, type CalibrationReport, pct, VERDICT_FIELDS } from '../../common/contracts/calibration.js';
import type { Rate } from '../../common/stats.js';
import { calibrateInProcess, type CalibrationRun } from '../lib/calibrate.js';
import { loadRunConfig } from '../lib/config-file.js';
import { hinted, UserError } from '../lib/errors.js';
import { table } from '../lib/format.js';
import { exitWith, out, positiveInt } from '../lib/output.js';

const HELP = `
The Judge is the run config's judge model, with the run's prompts and tools; it answers labelled items
built from a TRAIN split, never a test split: GSM8K train for pack math or benchmark (or evaluation) gsm8k/gsmhard,
PubMedQA's labelled set less its test split for pack medical or pubmedqa. Any other domain is skipped and says why.
Answers and reports are cached in NANOFLUX_HOME/calibration: give this command the worker's NANOFLUX_HOME and
a run with the same judge, prompt version and items finds the result instead of asking the Judge again
(and this command finds a run's). The items and the bar come from judge.calibration (default 40 items,
agreement 0.75); --items overrides the items. No Temporal server or worker is needed.
Exit codes: 0 every calibrated domain passed, 1 a domain failed (or the Judge could not be reached), 2 bad usage or config.`;

/** `nanoflux calibrate`: the Judge's calibration of a run config, measured before a run spends anything. */
export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .summary("measure the Judge's agreement with labelled items")
    .description("run the config's Judge over each domain's labelled calibration set and report its agreement per verdict field (Wilson 95% intervals) and how often it accepts wrong or junk items")
    .option('--config <file>', 'the run config (.json, .yaml, .yml)')
    .option('--items <n>', 'labelled items per domain (6–1000; default judge.calibration.items, else 40)', positiveInt)
    .addHelpText('after', HELP)
    .action(async (opts: { config: string; items?: number }, cmd: Command) => {
      const config = loadRunConfig(opts.config);
      if (opts.items !== undefined && !CalibrationSchema.shape.items.safeParse(opts.items).success) {
        throw new UserError(hinted(`--items ${opts.items} is out of range`, 'give 6 to 1000 items (a calibration set needs junk items and every labelled kind)'));
      }
      const o = out(cmd);
      const r = await calibrateInProcess(config, {
        ...(opts.items !== undefined ? { items: opts.items } : {}),
        // Progress where a person watches; stdout stays the result (one JSON document with --json).
        onDomain: (d, n) => process.stderr.isTTY && console.error(`nanoflux: calibrating the Judge on ${d} (${n} items)…`),
      });
      const failed = r.outcomes.filter((x) => 'report' in x && !x.report.passed).map((x) => x.domain);
      o.print(renderCalibration(r), { passed: failed.length === 0, failed, items: r.items, minAgreement: r.minAgreement, cache: `${r.home}/calibration`, domains: r.outcomes });
      if (failed.length > 0) exitWith(1);
    });
}

const share = (r: Rate): string[] => [`${pct(r.rate)}`, `${r.k}/${r.n}`, `[${pct(r.ci95.low)}–${pct(r.ci95.high)}]`];

/** One domain: its line, a table of the verdict fields and accept rates, then why it failed. */
function domainBlock(domain: string, report: CalibrationReport, cached: boolean): string[] {
  const rows = [
    ...VERDICT_FIELDS.map((f) => [f, ...share(report.agreement[f]), `agreement, needs ${pct(report.minAgreement)}`]),
    ['bad accepted', ...share(report.badAccepted), `wrong-reference and junk items let through, at most ${pct(1 - report.minAgreement)}`],
    ['good accepted', ...share(report.goodAccepted), 'true reference, Defender wrong: let through'],
  ];
  const lines = [
    `${domain}: judge ${report.judgeModel} ${report.passed ? 'passed' : 'FAILED'} calibration on ${report.items} ${report.source} items (prompts ${report.promptVersion}${cached ? '; cached' : ''})`,
    ...table(['', 'RATE', 'K/N', '95% CI', ''], rows).split('\n').map((l) => `  ${l}`),
  ];
  if (report.failedCalls > 0) lines.push(`  ${report.failedCalls} Judge call(s) gave no verdict (counted as disagreements)`);
  lines.push(report.passed ? '  passed' : `  FAILED: ${report.reasons.join('; ')}`);
  return lines;
}

export function renderCalibration(r: CalibrationRun): string {
  const blocks = r.outcomes.map((o: CalibrationOutcome) => ('report' in o ? domainBlock(o.domain, o.report, o.cached) : [`${o.domain}: not calibrated (${o.skipped})`]).join('\n'));
  const calibrated = r.outcomes.filter((o) => 'report' in o) as Extract<CalibrationOutcome, { report: unknown }>[];
  const failed = calibrated.filter((o) => !o.report.passed).length;
  const skipped = r.outcomes.length - calibrated.length;
  const summary = `${calibrated.length - failed} passed, ${failed} failed${skipped ? `, ${skipped} not calibrated` : ''} (${r.items} items per domain, bar ${pct(r.minAgreement)}); cached in ${r.home}/calibration`;
  return [...blocks, summary].join('\n\n');
}
