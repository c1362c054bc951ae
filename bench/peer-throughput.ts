/**
 * Peer benchmark: NanoFlux's three-role game (attacker → novelty → defender → judge → decide)
 * through Temporal, against the same game written as a distilabel pipeline
 * (bench/peer/three_roles.py), both against the same scripted OpenAI-compatible server on loopback
 * with the same latency per chat call, the same episodes and the same concurrency setting. The two
 * alternate order round by round. Reported: episodes, accepted, wall s, episodes/s, throughput ratio
 * NanoFlux / distilabel, model calls per accepted example, and the model calls in flight as the
 * server saw them (peak and time-weighted mean). The first round also checks that both send the
 * same requests (system prompt, user message, response_format, temperature per role).
 *
 * The peer's Python environment (bench/peer/.venv, from bench/peer/requirements.txt) is created
 * on first use and whenever the requirements change; PyPI is needed once.
 *
 * Usage: npx tsx bench/peer-throughput.ts [--episodes 80] [--concurrency 4] [--latency 200|0|0,200]
 *        [--rounds 2] [--peer-batch <input_batch_size, default = concurrency>]
 *        [--out bench/results/peer-throughput.json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { jsonSchemaOf } from '../activities/game/models/openai-chat.js';
import type { RunConfig } from '../common/config.js';
import { PROJECT_ROOT, readEnv } from '../common/env.js';
import { AttackSchema, DefenseSchema, VerdictSchema } from '../common/game.js';
import { scriptGame } from '../tests/support/game-script.js';
import type { RecordedRequest, ScriptedOpenAI, ScriptHandler } from '../tests/support/scripted-openai.js';
import { arg, type BenchEnv, benchConfig, runThroughTemporal, startBenchEnv } from './lib/harness.js';

const episodes = Number(arg('episodes', '80'));
const concurrency = Number(arg('concurrency', '4'));
const latencies = arg('latency', '200').split(',').map(Number);
const rounds = Number(arg('rounds', '2'));
const peerBatch = Number(arg('peer-batch', String(concurrency)));
const outPath = resolve(PROJECT_ROOT, arg('out', 'bench/results/peer-throughput.json'));

const PEER_DIR = join(PROJECT_ROOT, 'bench', 'peer');
const PEER_VENV = join(PEER_DIR, '.venv');
const PEER_PY = join(PEER_VENV, 'bin', 'python');

/**
 * NanoFlux's per-role temperatures (ROLE_TEMPERATURE in activities/game/activities.ts, not exported).
 * The request check below compares what each side sends, so a drift here shows up as a mismatch.
 */
const TEMPERATURES = { attacker: 0.9, defender: 0.2, judge: 0 };

/** Creates bench/peer/.venv and installs the pinned requirements, when missing or changed (like scripts/bootstrap.mjs). */
function ensurePeerVenv(): void {
  const reqPath = join(PEER_DIR, 'requirements.txt');
  const want = readFileSync(reqPath, 'utf8');
  const stamp = join(PEER_VENV, '.requirements');
  if (existsSync(PEER_PY) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
  };
  if (!existsSync(PEER_PY)) {
    console.error('[peer] creating bench/peer/.venv');
    run(readEnv().peerPython, ['-m', 'venv', PEER_VENV]);
  }
  console.error('[peer] installing bench/peer/requirements.txt (distilabel) into bench/peer/.venv');
  run(PEER_PY, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', reqPath]);
  writeFileSync(stamp, want);
}

/** What the peer needs to send NanoFlux's requests: prompts, schemas, domain, models, temperatures. */
function peerSpec(config: RunConfig): Record<string, unknown> {
  const d = config.domains[0]!;
  return {
    promptsDir: join(PROJECT_ROOT, 'prompts'),
    promptVersion: config.generation.promptVersion,
    domain: { name: d.name, brief: d.brief, topics: d.topics, pack: d.pack },
    targetComplexity: config.generation.targetComplexity,
    targetHops: config.generation.targetHops,
    noveltyThreshold: config.generation.noveltyThreshold,
    temperatures: TEMPERATURES,
    models: { a: config.models.a.model, b: config.models.b.model, judge: config.models.judge.model, embedding: config.models.embedding.model },
    schemas: { attack: jsonSchemaOf(AttackSchema), defense: jsonSchemaOf(DefenseSchema), verdict: jsonSchemaOf(VerdictSchema) },
  };
}

/**
 * The scripted game, with the latency applied here rather than by the server, so the chat calls in
 * flight can be counted: peak, and time-weighted mean (sum of call times / span of the calls).
 */
function meteredGame(llm: ScriptedOpenAI, delayMs: number) {
  let handler: ScriptHandler | undefined;
  const calls = scriptGame({ script: (h: ScriptHandler) => void (handler = h) } as unknown as ScriptedOpenAI, {}).calls;
  let inFlight = 0;
  let peak = 0;
  let spans: { start: number; end: number }[] = [];
  llm.script(async (req) => {
    const start = performance.now();
    peak = Math.max(peak, ++inFlight);
    try {
      const r = await handler!(req);
      if (delayMs > 0) await new Promise((ok) => setTimeout(ok, delayMs));
      return r;
    } finally {
      inFlight--;
      spans.push({ start, end: performance.now() });
    }
  });
  return {
    calls,
    reset() {
      peak = 0;
      spans = [];
    },
    read() {
      if (spans.length === 0) return { peak: 0, mean: 0, spanS: 0 };
      const first = Math.min(...spans.map((s) => s.start));
      const last = Math.max(...spans.map((s) => s.end));
      const busy = spans.reduce((n, s) => n + (s.end - s.start), 0);
      return { peak, mean: busy / (last - first), spanS: (last - first) / 1000 };
    },
  };
}

interface Measured {
  impl: 'nanoflux' | 'distilabel';
  latencyMs: number;
  round: number;
  episodes: number;
  accepted: number;
  wallS: number;
  episodesPerS: number;
  /** From a cold start to the end: NanoFlux's workers created, run, shut down; the peer's Python process spawned to its exit. */
  coldS: number;
  calls: { attacker: number; defender: number; judge: number; embeddings: number; total: number };
  callsPerAccepted: number;
  inFlight: { peak: number; mean: number; spanS: number };
  extra: Record<string, unknown>;
}

function countCalls(reqs: RecordedRequest[]) {
  const chat = reqs.filter((r) => r.path.endsWith('/chat/completions'));
  const by = (role: string) => chat.filter((r) => r.role === role).length;
  const embeddings = reqs.filter((r) => r.path.endsWith('/embeddings')).length;
  return { attacker: by('attacker'), defender: by('defender'), judge: by('judge'), embeddings, total: chat.length + embeddings };
}

async function runNanoflux(env: BenchEnv, latencyMs: number, round: number, meter: ReturnType<typeof meteredGame>): Promise<{ m: Measured; reqs: RecordedRequest[] }> {
  const config = benchConfig(env.llm.baseURL, `peer-nf-${latencyMs}-${round}`, { generation: { targetAccepted: episodes + 1, maxEpisodes: episodes, concurrency } });
  const from = env.llm.requests.length;
  meter.reset();
  const c0 = performance.now();
  const { ms, result } = await runThroughTemporal(env, config);
  const coldS = (performance.now() - c0) / 1000;
  const reqs = env.llm.requests.slice(from);
  const calls = countCalls(reqs);
  const accepted = result.status.accepted;
  return {
    reqs,
    m: {
      impl: 'nanoflux',
      latencyMs,
      round,
      episodes: result.status.episodes,
      accepted,
      wallS: ms / 1000,
      episodesPerS: result.status.episodes / (ms / 1000),
      coldS,
      calls,
      callsPerAccepted: calls.total / accepted,
      inFlight: meter.read(),
      extra: { rejected: result.status.domains[config.domains[0]!.name]?.rejected, concurrency },
    },
  };
}

async function runPeer(env: BenchEnv, specFile: string, latencyMs: number, round: number, meter: ReturnType<typeof meteredGame>): Promise<{ m: Measured; reqs: RecordedRequest[] }> {
  const from = env.llm.requests.length;
  meter.reset();
  const t0 = performance.now();
  const args = [join(PEER_DIR, 'three_roles.py'), '--spec', specFile, '--base-url', env.llm.baseURL, '--episodes', String(episodes), '--concurrency', String(peerBatch)];
  // PYTHONWARNINGS: distilabel 1.5.3 under pydantic 2.14 warns about Field defaults at import, in every step process.
  const child = spawn(PEER_PY, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  const processS = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`peer exited ${code}:\n${stderr.slice(-4000)}`);
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { episodes: number; accepted: number; wall_s: number; startup_s: number; outcomes: Record<string, number>; model_calls: Record<string, number>; distilabel: string };
  const reqs = env.llm.requests.slice(from);
  const calls = countCalls(reqs);
  if (calls.total !== out.model_calls.total) console.error(`[peer] warning: the server saw ${calls.total} calls, the peer counted ${out.model_calls.total}`);
  return {
    reqs,
    m: {
      impl: 'distilabel',
      latencyMs,
      round,
      episodes: out.episodes,
      accepted: out.accepted,
      wallS: out.wall_s,
      episodesPerS: out.episodes / out.wall_s,
      coldS: processS,
      calls,
      callsPerAccepted: calls.total / out.accepted,
      inFlight: meter.read(),
      extra: { outcomes: out.outcomes, importS: out.startup_s, inputBatchSize: peerBatch, distilabel: out.distilabel },
    },
  };
}

// ---- request equivalence -----------------------------------------------------------------------

/** Keys in sorted order, so two JSON values compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** The scripted questions carry a running number and their own words: replaced, so requests compare by template. */
const QUESTION = /Question \d+: [^\n]*?\[c=[^\]]*\]/g;

function compareRequests(nf: RecordedRequest[], peer: RecordedRequest[]) {
  const report: Record<string, unknown> = {};
  for (const role of ['attacker', 'defender', 'judge'] as const) {
    const pick = (rs: RecordedRequest[]) => rs.filter((r) => r.role === role && r.path.endsWith('/chat/completions')).map((r) => r.body as { messages: { role: string; content?: string }[]; [k: string]: unknown });
    const a = pick(nf);
    const b = pick(peer);
    const field = (bodies: typeof a, f: (x: (typeof a)[number]) => unknown) => new Set(bodies.map((x) => canonical(f(x))));
    const subset = (f: (x: (typeof a)[number]) => unknown) => {
      const have = field(a, f);
      return [...field(b, f)].every((x) => have.has(x));
    };
    const msg = (r: 'system' | 'user') => (x: (typeof a)[number]) => (x.messages.find((m) => m.role === r)?.content ?? '').replace(QUESTION, 'Question N');
    const keys = (bodies: typeof a) => new Set(bodies.flatMap((x) => Object.keys(x)));
    const ka = keys(a);
    const kb = keys(b);
    report[role] = {
      requests: { nanoflux: a.length, distilabel: b.length },
      sameSystemPrompt: subset(msg('system')),
      sameUserMessage: subset(msg('user')),
      sameResponseFormat: subset((x) => x.response_format),
      sameTemperature: subset((x) => x.temperature),
      messagesPerRequest: { nanoflux: [...field(a, (x) => x.messages.length)], distilabel: [...field(b, (x) => x.messages.length)] },
      tools: { nanoflux: [...new Set(a.flatMap((x) => ((x.tools as { function: { name: string } }[] | undefined) ?? []).map((t) => t.function.name)))], distilabel: [...new Set(b.flatMap((x) => ((x.tools as { function: { name: string } }[] | undefined) ?? []).map((t) => t.function.name)))] },
      bodyKeysOnlyNanoflux: [...ka].filter((k) => !kb.has(k)),
      bodyKeysOnlyDistilabel: [...kb].filter((k) => !ka.has(k)),
      meanBodyBytes: {
        nanoflux: Math.round(a.reduce((n, x) => n + JSON.stringify(x).length, 0) / Math.max(1, a.length)),
        distilabel: Math.round(b.reduce((n, x) => n + JSON.stringify(x).length, 0) / Math.max(1, b.length)),
      },
    };
  }
  return report;
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensurePeerVenv();
  const env = await startBenchEnv();
  const work = mkdtempSync(join(tmpdir(), 'nf-peer-bench-'));
  const results: Measured[] = [];
  let equivalence: Record<string, unknown> | undefined;
  const load: number[] = [loadavg()[0]!];
  try {
    const specFile = join(work, 'spec.json');
    writeFileSync(specFile, JSON.stringify(peerSpec(benchConfig(env.llm.baseURL, 'spec'))));
    for (const latencyMs of latencies) {
      const meter = meteredGame(env.llm, latencyMs);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['nanoflux', 'distilabel'] as const) : (['distilabel', 'nanoflux'] as const);
        const got: Partial<Record<'nanoflux' | 'distilabel', { m: Measured; reqs: RecordedRequest[] }>> = {};
        for (const impl of order) {
          got[impl] = impl === 'nanoflux' ? await runNanoflux(env, latencyMs, round, meter) : await runPeer(env, specFile, latencyMs, round, meter);
          const m = got[impl].m;
          load.push(loadavg()[0]!);
          console.error(`[${latencyMs} ms, round ${round + 1}/${rounds}] ${impl}: ${m.episodes} episodes, ${m.accepted} accepted, ${m.wallS.toFixed(2)} s, ${m.episodesPerS.toFixed(2)} ep/s, in flight peak ${m.inFlight.peak} mean ${m.inFlight.mean.toFixed(2)}`);
          results.push(m);
        }
        equivalence ??= compareRequests(got.nanoflux!.reqs, got.distilabel!.reqs);
        env.llm.requests.length = 0;
      }
    }
  } finally {
    await env.close();
    rmSync(work, { recursive: true, force: true });
  }

  const rows: string[] = [];
  const ratioRows: string[] = [];
  const summary: Record<string, unknown>[] = [];
  const sum = (ms: Measured[], f: (r: Measured) => number) => ms.reduce((n, r) => n + f(r), 0);
  for (const latencyMs of latencies) {
    const agg = (impl: Measured['impl']) => {
      const ms = results.filter((r) => r.latencyMs === latencyMs && r.impl === impl);
      const eps = sum(ms, (r) => r.episodes);
      const calls = sum(ms, (r) => r.calls.total);
      return {
        impl,
        runs: ms.length,
        episodes: eps / ms.length,
        accepted: sum(ms, (r) => r.accepted) / ms.length,
        wallS: sum(ms, (r) => r.wallS) / ms.length,
        episodesPerS: eps / sum(ms, (r) => r.wallS),
        spanS: sum(ms, (r) => r.inFlight.spanS) / ms.length,
        episodesPerSpanS: eps / sum(ms, (r) => r.inFlight.spanS),
        coldS: sum(ms, (r) => r.coldS) / ms.length,
        episodesPerColdS: eps / sum(ms, (r) => r.coldS),
        callsPerEpisode: calls / eps,
        callsPerAccepted: calls / sum(ms, (r) => r.accepted),
        peak: Math.max(...ms.map((r) => r.inFlight.peak)),
        mean: sum(ms, (r) => r.inFlight.mean) / ms.length,
      };
    };
    const nf = agg('nanoflux');
    const dl = agg('distilabel');
    const ratio = { wall: nf.episodesPerS / dl.episodesPerS, span: nf.episodesPerSpanS / dl.episodesPerSpanS, cold: nf.episodesPerColdS / dl.episodesPerColdS };
    const perRound = Array.from({ length: rounds }, (_, round) => {
      const f = (impl: Measured['impl']) => results.find((r) => r.latencyMs === latencyMs && r.round === round && r.impl === impl)!;
      return f('nanoflux').episodesPerS / f('distilabel').episodesPerS;
    });
    summary.push({ latencyMs, nanoflux: nf, distilabel: dl, throughputRatio: ratio, perRoundWallRatios: perRound });
    for (const a of [nf, dl]) {
      rows.push(
        `| ${latencyMs} ms | ${a.impl === 'nanoflux' ? 'NanoFlux (Temporal)' : 'distilabel'} | ${a.episodes} | ${a.accepted} | ${a.wallS.toFixed(2)} | ${a.episodesPerS.toFixed(2)} | ${a.spanS.toFixed(2)} | ${a.coldS.toFixed(2)} | ${a.callsPerEpisode.toFixed(2)} | ${a.callsPerAccepted.toFixed(2)} | ${a.peak} / ${a.mean.toFixed(2)} |`,
      );
    }
    ratioRows.push(`| ${latencyMs} ms | **${ratio.wall.toFixed(3)}** (rounds: ${perRound.map((x) => x.toFixed(3)).join(', ')}) | ${ratio.span.toFixed(3)} | ${ratio.cold.toFixed(3)} |`);
  }
  const table = [
    `${episodes} episodes, concurrency ${concurrency} (distilabel input_batch_size ${peerBatch}), ${rounds} round(s) per latency, order alternating; figures are means over the rounds.`,
    '',
    '| model latency | implementation | episodes | accepted | wall s | episodes/s | model-call span s | cold start→end s | model calls / episode | model calls / accepted | chat calls in flight peak / mean |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '| model latency | throughput ratio NanoFlux / distilabel (wall) | same, over the model-call span | same, cold start→end |',
    '|---|---|---|---|',
    ...ratioRows,
  ].join('\n');
  console.log(table);
  console.log('\nRequests (first round):');
  for (const [role, r] of Object.entries(equivalence ?? {})) console.log(`  ${role}: ${JSON.stringify(r)}`);

  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(
    outPath,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg1m: { min: Math.min(...load), max: Math.max(...load) } },
        settings: { episodes, concurrency, peerInputBatchSize: peerBatch, latencies, rounds },
        summary,
        runs: results,
        requests: equivalence,
        table,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
