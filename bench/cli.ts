/**
 * `npm run bench:cli -- [--rounds 15] [--tsx-rounds 3] [--out bench/results/cli.json]`: how long the
 * `nanoflux` command takes to answer, beside the Temporal CLI's `temporal --help` measured in the
 * same rounds (the same machine, the same moment: on a shared machine only such ratios compare).
 *
 * Every call is a fresh process, as a user's would be: `node scripts/nanoflux.mjs …` (the compiled
 * CLI in dist/, after its staleness check). `--help` is timed first, before this bench starts any
 * server or worker beside it. `status` is asked of a real run, on a real dev server
 * (in memory, its own port), executed by the real compiled worker (`node scripts/worker.mjs`, its
 * own process) against the scripted OpenAI-compatible server: once while the run is paused (the
 * worker answers the status query), once after it finished (the status comes from its result).
 * The same commands through tsx (how the CLI ran before) are timed for a few rounds as the before.
 */
import { Client, Connection } from '@temporalio/client';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT, temporalCliPath } from '../common/env.js';
import { startDevServer } from '../scripts/lib/dev-server.js';
import { build, currentBuild, ensureBuilt } from '../scripts/build.mjs';
import { scriptGame, testConfig } from '../tests/support/game-script.js';
import { startScriptedOpenAI } from '../tests/support/scripted-openai.js';
import { runWorkflowId } from '../workflows/logic/ids.js';
import { arg } from './lib/args.js';

const ROUNDS = Number(arg('rounds', '15'));
const TSX_ROUNDS = Number(arg('tsx-rounds', '3'));
const OUT = arg('out', join(PROJECT_ROOT, 'bench', 'results', 'cli.json'));
const TARGET_MS = { help: 300, status: 1000 };
const LAUNCHER = join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs');

interface Timed {
  ms: number;
  /** user + system CPU time of the process, where GNU time is there to tell it (10 ms resolution). */
  cpuMs?: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

// GNU time, when installed: CPU time is what a shared machine's load leaves mostly alone (wall time is not).
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const TIME_LINE = /\nNFTIME ([\d.]+) ([\d.]+)\n?$/;

/** Runs argv to its end; wall time from spawn to exit (and its CPU time). */
function timed(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const full = GNU_TIME ? [GNU_TIME, '-f', 'NFTIME %U %S', '--', ...argv] : argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(full[0]!, full.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      const ms = performance.now() - t0;
      const m = TIME_LINE.exec(`\n${stderr}`);
      if (m) stderr = `\n${stderr}`.slice(0, m.index).slice(1);
      resolve({ ms, ...(m ? { cpuMs: (Number(m[1]) + Number(m[2])) * 1000 } : {}), status, stdout, stderr });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r1 = (x: number): number => Math.round(x * 10) / 10;

interface Case {
  name: string;
  argv: string[];
  /** What a correct answer looks like: the call must give it, or the bench stops (a fast wrong answer measures nothing). */
  check(r: Timed): boolean;
  /** Fewer rounds than the others (the slow tsx baseline): it runs in the first `rounds` rounds only. */
  rounds?: number;
}

interface Samples {
  wall: number[];
  cpu: number[];
}

/** `rounds` rounds of every case, interleaved and the order rotated each round (load changes alike for all); the times of each case. */
async function measure(cases: Case[], rounds: number, env: NodeJS.ProcessEnv): Promise<Record<string, Samples>> {
  const times: Record<string, Samples> = Object.fromEntries(cases.map((c) => [c.name, { wall: [], cpu: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length]!;
      if (c.rounds !== undefined && round >= c.rounds) continue;
      const r = await timed(c.argv, env);
      if (!c.check(r)) throw new Error(`${c.name}: unexpected answer (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
      times[c.name]!.wall.push(r.ms);
      if (r.cpuMs !== undefined) times[c.name]!.cpu.push(r.cpuMs);
    }
  }
  return times;
}

/** The staleness check's own cost, in this process (what every call pays before the CLI loads), and a rebuild's. */
async function launcherCosts(): Promise<{ checkMs: number; rebuildMs: number }> {
  await ensureBuilt('cli');
  const checks: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    if (!currentBuild('cli')) throw new Error('the CLI build went stale during the bench (a source changed): run it again');
    checks.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await build('cli');
  return { checkMs: median(checks), rebuildMs: performance.now() - t0 };
}

/** The compiled worker in its own process; resolves once it polls. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts', 'worker.mjs')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const seen = (d: Buffer) => {
      log += d.toString();
      if (log.includes('[worker] polling')) resolve();
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before polling:\n${log.slice(-2000)}`)));
  });
  return child;
}

type Row = ReturnType<typeof row>;

/** One command's figures; its ratios are to `temporal --help` in the same rounds. */
function row(samples: Record<string, Samples>, name: string, targetMs?: number, label = name) {
  const { wall, cpu } = samples[name]!;
  const t = samples['temporal --help']!;
  const cpuMedian = cpu.length ? median(cpu) : undefined;
  return {
    command: label,
    runs: wall.length,
    medianMs: r1(median(wall)),
    minMs: r1(Math.min(...wall)),
    maxMs: r1(Math.max(...wall)),
    ratioToTemporalHelp: r2(median(wall) / median(t.wall)),
    ...(cpuMedian !== undefined ? { cpuMedianMs: r1(cpuMedian), cpuRatioToTemporalHelp: r2(cpuMedian / Math.max(10, median(t.cpu))) } : {}),
    ...(targetMs ? { targetMs, met: median(wall) <= targetMs } : {}),
  };
}

function printReport(temporal: string, launcher: { checkMs: number; rebuildMs: number }, loads: number[], rows: Row[]): void {
  const report = { when: new Date().toISOString(), node: process.version, loadAverage1m: loads.map(r2), temporalCli: temporal, launcher: { staleCheckMs: r2(launcher.checkMs), rebuildMs: Math.round(launcher.rebuildMs) }, rows };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log('| command | runs | median ms (min–max) | / temporal --help | CPU ms, median | CPU / temporal --help | target | met |\n|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const cpu = 'cpuMedianMs' in r ? `| ${r.cpuMedianMs} | ${r.cpuRatioToTemporalHelp} ` : '| – | – ';
    console.log(`| ${r.command} | ${r.runs} | ${r.medianMs} (${r.minMs}–${r.maxMs}) | ${r.ratioToTemporalHelp} ${cpu}| ${r.targetMs ? `≤ ${r.targetMs} ms` : ''} | ${'met' in r ? (r.met ? 'yes' : 'no') : ''} |`);
  }
  console.log(`launcher: staleness check ${r2(launcher.checkMs)} ms (median of 50), a rebuild of the CLI ${Math.round(launcher.rebuildMs)} ms; load average (1 min) ${loads.map(r2).join(' → ')}; CPU time ${GNU_TIME ? 'from GNU time (10 ms resolution; the temporal ratio divides by at least 10 ms)' : 'not measured (no /usr/bin/time)'}; written to ${OUT}`);
}

const ok = (r: Timed) => r.status === 0;
const nanoflux = (...args: string[]) => [process.execPath, LAUNCHER, ...args];
const viaTsx = (c: Case, ...args: string[]): Case => ({ ...c, name: `tsx: ${c.name}`, argv: [process.execPath, '--import', 'tsx', join(PROJECT_ROOT, 'scripts', 'cli.ts'), ...args], rounds: TSX_ROUNDS });

async function main(): Promise<void> {
  const temporal = temporalCliPath();
  const launcher = await launcherCosts();
  const help: Case = { name: 'nanoflux --help', argv: nanoflux('--help'), check: (r) => ok(r) && r.stdout.includes('Usage: nanoflux') };
  const temporalHelp: Case = { name: 'temporal --help', argv: [temporal, '--help'], check: (r) => ok(r) && /temporal/i.test(r.stdout) };
  const loads = [loadavg()[0]!];
  // --help first, on the machine as it is: no server or worker of this bench running beside it.
  const idle = await measure([help, temporalHelp, viaTsx(help, '--help')], ROUNDS, {});
  loads.push(loadavg()[0]!);

  const server = await startDevServer({});
  const llm = await startScriptedOpenAI();
  scriptGame(llm);
  const home = mkdtempSync(join(tmpdir(), 'nf-bench-cli-'));
  const env = { TEMPORAL_ADDRESS: server.address, NANOFLUX_HOME: home, NANOFLUX_TEST_KEY: 'bench-key' };
  const worker = await startWorker(env);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  try {
    const runId = 'bench-cli';
    const config = join(home, 'run.json');
    writeFileSync(config, JSON.stringify(testConfig(llm.baseURL, runId, { generation: { targetAccepted: 1000, maxEpisodes: 1000, concurrency: 1, noveltyThreshold: 0.85 } })));
    const must = async (...args: string[]) => {
      const r = await timed(nanoflux(...args), env);
      if (r.status !== 0) throw new Error(`nanoflux ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
    };
    await must('run', '--config', config);
    await must('pause', runId);
    // The paused run: its status is the worker's answer to the status query.
    const status: Case = { name: 'nanoflux status <paused run>', argv: nanoflux('status', runId), check: (r) => ok(r) && r.stdout.includes(runId) && /paused/i.test(r.stdout) };
    const paused = await measure([status, temporalHelp], ROUNDS, env);
    loads.push(loadavg()[0]!);
    await must('stop', runId);
    await client.workflow.getHandle(runWorkflowId(runId)).result();
    // The finished run: its status comes from its result, no worker needed.
    const finished: Case = { name: 'nanoflux status <finished run>', argv: nanoflux('status', runId), check: (r) => ok(r) && r.stdout.includes(runId) };
    const done = await measure([finished, temporalHelp, viaTsx(finished, 'status', runId)], ROUNDS, env);
    loads.push(loadavg()[0]!);
    printReport(temporal, launcher, loads, [
      row(idle, help.name, TARGET_MS.help),
      row(paused, status.name, TARGET_MS.status),
      row(done, finished.name, TARGET_MS.status),
      row(idle, `tsx: ${help.name}`),
      row(done, `tsx: ${finished.name}`),
      row(idle, temporalHelp.name, undefined, `${temporalHelp.name} (rounds of --help)`),
      row(paused, temporalHelp.name, undefined, `${temporalHelp.name} (rounds of the paused run)`),
      row(done, temporalHelp.name, undefined, `${temporalHelp.name} (rounds of the finished run)`),
    ]);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode === null ? worker.once('exit', r) : r(undefined)));
    await connection.close();
    await llm.close();
    await server.stop();
  }
}

await main();
