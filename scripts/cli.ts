import { parseArgs } from 'node:util';
import { readEnv } from '../common/env.js';
import { runWorkflowId } from '../workflows/logic/ids.js';
import { pauseSignal, resumeSignal, type RunStatus, setConcurrencyUpdate, statusQuery, stopSignal } from '../workflows/messages.js';
import { builtInTools } from '../activities/judge/registry.js';
import { ablateCommand } from './commands/ablate.js';
import { exportCommand } from './commands/export.js';
import { scoreCommand } from './commands/score.js';
import { connectClient, loadRunConfig, startRun, uiLinks, UserError } from './lib/client.js';

const HELP = `nanoflux — adversarial dataset generation on Temporal

Usage:
  nanoflux validate --config <file.json>         check a run config; lists every problem by field path
  nanoflux run --config <file.json> [--json]     start a run (needs a server and a worker)
  nanoflux status <runId> [--json]               accepted, rejections by reason, episodes, tokens by role
  nanoflux pause|resume|stop <runId>             control a running run
  nanoflux set-concurrency <runId> <n>           change episodes in flight per domain
  nanoflux tool <name> --input '<json>'          run one of the judge's tools; prints its JSON result
  nanoflux tool --list                           the tools, with their input schemas
  nanoflux export <runId> [--format openai,sharegpt,alpaca,hf] [--config <file>]
                                                 write the run's dataset in trainer formats, with a dataset card
  nanoflux ablate <runId> [--config <file>] [--wait]
                                                 fine-tune and evaluate cuts of a finished run's dataset by
                                                 complexity, quality and size; rewrites the run's report
  nanoflux score --benchmark <gsm8k|gsmhard|pubmedqa|mcq> --predictions <file.jsonl> [--data <file>]
                                                 score predictions ({"id","prediction"} per line): accuracy,
                                                 95% Wilson interval, per-item correctness, as JSON

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), NANOFLUX_HOME (.nanoflux).
Exit codes: 0 ok, 1 failure, 2 bad usage or invalid config.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { config: { type: 'string' }, input: { type: 'string' }, list: { type: 'boolean', default: false }, benchmark: { type: 'string' }, format: { type: 'string', default: 'openai' }, predictions: { type: 'string' }, data: { type: 'string' }, wait: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 2;
  }
  const out = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data) : human);
  const needRun = () => {
    if (!rest[0]) throw new UserError(`\`nanoflux ${command}\` needs a run id`);
    return rest[0];
  };

  switch (command) {
    case 'validate': {
      if (!values.config) throw new UserError('--config <file> is required');
      const c = loadRunConfig(values.config);
      out(`${values.config}: valid (run ${c.runId}, ${c.domains.length} domain(s))`, { valid: true, runId: c.runId });
      return 0;
    }
    case 'tool': {
      const tools = builtInTools();
      if (values.list) {
        const list = [...tools.values()].map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
        console.log(values.json ? JSON.stringify(list) : list.map((t) => `${t.name}: ${t.description}`).join('\n'));
        return 0;
      }
      const name = rest[0];
      const tool = name ? tools.get(name) : undefined;
      if (!tool) throw new UserError(`unknown tool "${name ?? ''}"; one of: ${[...tools.keys()].join(', ')}`);
      if (values.input === undefined) throw new UserError(`--input '<json>' is required, e.g. nanoflux tool ${tool.name} --input '{"…": …}'`);
      let args: unknown;
      try {
        args = JSON.parse(values.input);
      } catch (e) {
        console.log(JSON.stringify({ error: `--input is not valid JSON: ${(e as Error).message}` }));
        return 1;
      }
      // The judge's own code path: the tool's JSON text, verbatim; an error result exits non-zero.
      const out = await tool.run(args);
      console.log(out);
      return 'error' in (JSON.parse(out) as object) ? 1 : 0;
    }
    case 'export': {
      const runId = needRun();
      const r = await exportCommand({ runId, formats: values.format.split(',').map((f) => f.trim()).filter(Boolean), config: values.config });
      out(`exported ${r.examples} examples of ${runId}:\n${r.files.map((f) => `  ${f}`).join('\n')}`, r);
      return 0;
    }
    case 'ablate': {
      const runId = needRun();
      const r = await ablateCommand({ runId, config: values.config, wait: values.wait });
      out(r.report ? `ablation of ${runId} done; report: ${r.report}` : `started ablation of ${runId} (workflow ${r.workflowId})`, r);
      return r.failed && r.failed.length > 0 ? 1 : 0;
    }
    case 'score': {
      if (!values.benchmark || !values.predictions) throw new UserError('score needs --benchmark <gsm8k|gsmhard|pubmedqa|mcq> and --predictions <file.jsonl>');
      const r = await scoreCommand({ benchmark: values.benchmark, predictions: values.predictions, data: values.data });
      console.log(JSON.stringify(r.output));
      return r.exitCode;
    }
    case 'run': {
      if (!values.config) throw new UserError('--config <file> is required');
      const c = loadRunConfig(values.config);
      const { client, close } = await connectClient();
      try {
        const h = await startRun(client, c.raw, c);
        const links = uiLinks(readEnv(), c.runId);
        out(`started run ${c.runId} (workflow ${h.workflowId})\nweb UI: ${links.run}`, { runId: c.runId, workflowId: h.workflowId, ui: links.run });
      } finally {
        await close();
      }
      return 0;
    }
    case 'status':
    case 'pause':
    case 'resume':
    case 'stop':
    case 'set-concurrency': {
      const runId = needRun();
      const { client, close } = await connectClient();
      try {
        const h = client.workflow.getHandle(runWorkflowId(runId));
        if (command === 'status') {
          const s = await h.query(statusQuery);
          out(formatStatus(s), s);
        } else if (command === 'set-concurrency') {
          const n = Number(rest[1]);
          if (!Number.isInteger(n) || n < 1) throw new UserError('set-concurrency needs a positive integer');
          const r = await h.executeUpdate(setConcurrencyUpdate, { args: [{ concurrency: n }] });
          out(`concurrency of ${runId} is now ${r.concurrency}`, r);
        } else {
          await h.signal(command === 'pause' ? pauseSignal : command === 'resume' ? resumeSignal : stopSignal);
          out(`${command} sent to ${runId}`, { runId, signal: command });
        }
      } finally {
        await close();
      }
      return 0;
    }
    default:
      throw new UserError(`unknown command "${command}" (see nanoflux --help)`);
  }
}

function formatStatus(s: RunStatus): string {
  const lines = [`run ${s.runId}: ${s.stage}${s.paused ? ' (paused)' : ''} — ${s.accepted} accepted, ${s.episodes} episodes, ${s.tokens.total} tokens`];
  for (const d of Object.values(s.domains)) {
    const rej = Object.entries(d.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    lines.push(`  ${d.domain}: ${d.stage}, ${d.accepted} accepted, ${d.episodesFinished} episodes, rejected: ${rej}; tokens A/D/J ${d.tokens.attacker}/${d.tokens.defender}/${d.tokens.judge}`);
  }
  if (s.dataset) lines.push(`  dataset: ${s.dataset.path} (${s.dataset.examples} examples)`);
  for (const v of s.variants ?? []) {
    lines.push(`  ${v.domain}/${v.variant}: ${v.error ? `failed: ${v.error}` : v.accuracy === null ? 'not evaluated' : `${(v.accuracy * 100).toFixed(1)}% of ${v.n} items`}`);
  }
  if (s.report) lines.push(`  report: ${s.report}`);
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const isUsage = err instanceof UserError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`nanoflux: ${msg}`);
    process.exit(isUsage ? 2 : 1);
  },
);
