import type { Command } from 'commander';
import { exitWith, out } from '../lib/output.js';

/**
 * What a run produced: `export`, `report`, `ablate`, and `score` for predictions made elsewhere.
 * The implementations load the activity code (vector store, trainer, report renderer), so they are
 * imported when the command runs, not for `--help`.
 */
export function registerResultCommands(program: Command): void {
  program
    .command('export')
    .summary("write a run's dataset in trainer formats")
    .description("write a run's dataset in trainer formats, with a dataset card, from its stored examples")
    .argument('<run>', 'the run id')
    .option('--format <list>', 'comma-separated: openai, sharegpt, alpaca, hf', 'openai')
    .option('--config <file>', "the run's config (default: the one in its Temporal history)")
    .action(async (runId: string, opts: { format: string; config?: string }, cmd: Command) => {
      const { exportCommand } = await import('./export.js');
      const r = await exportCommand({ runId, formats: opts.format.split(',').map((f) => f.trim()).filter(Boolean), config: opts.config });
      out(cmd).print(`exported ${r.examples} examples of ${runId}:\n${r.files.map((f) => `  ${f}`).join('\n')}`, r);
    });

  program
    .command('report')
    .summary("rewrite a run's report")
    .description("rewrite a run's report (report.md and figures) from its fine-tuned and evaluated variants")
    .argument('<run>', 'the run id')
    .option('--config <file>', "the run's config (default: the one in its Temporal history)")
    .action(async (runId: string, opts: { config?: string }, cmd: Command) => {
      const { reportCommand } = await import('./report.js');
      const r = await reportCommand({ runId, ...(opts.config ? { config: opts.config } : {}) });
      out(cmd).print(`report of ${runId}: ${r.report}${r.figures.length ? `\nfigures:\n${r.figures.map((f) => `  ${f}`).join('\n')}` : ''}`, r);
    });

  program
    .command('ablate')
    .summary("fine-tune and evaluate cuts of a run's dataset")
    .description("fine-tune and evaluate cuts of a finished run's dataset by complexity, quality and size; rewrites its report")
    .argument('<run>', 'the run id')
    .option('--config <file>', "the run's config (default: the one in its Temporal history)")
    .option('--wait', 'wait for the ablation to finish; exits 1 when a cut failed')
    .action(async (runId: string, opts: { config?: string; wait?: boolean }, cmd: Command) => {
      const { ablateCommand } = await import('./ablate.js');
      const r = await ablateCommand({ runId, config: opts.config, wait: Boolean(opts.wait) });
      out(cmd).print(r.report ? `ablation of ${runId} done; report: ${r.report}` : `started ablation of ${runId} (workflow ${r.workflowId})`, r);
      if (r.failed && r.failed.length > 0) exitWith(1);
    });

  program
    .command('score')
    .summary('score predictions on a benchmark (JSON)')
    .description('score predictions ({"id","prediction"} per line) on a benchmark: accuracy, 95% Wilson interval, per-item correctness; always JSON')
    .option('--benchmark <name>', 'gsm8k, gsmhard, pubmedqa or mcq')
    .option('--predictions <file>', 'JSONL of {"id", "prediction"}')
    .option('--data <file>', 'the benchmark file (gsmhard and mcq need one)')
    .action(async (opts: { benchmark: string; predictions: string; data?: string }) => {
      const { scoreCommand } = await import('./score.js');
      const r = await scoreCommand(opts);
      console.log(JSON.stringify(r.output));
      exitWith(r.exitCode);
    });
}
