/**
 * Rate-limit utilisation: against a server that admits R chat requests per minute and answers the
 * rest 429 with Retry-After, the share of R a NanoFlux run actually uses over a few minutes, and how
 * many 429s it collects on the way.
 *
 * The server is the scripted OpenAI-compatible server (tests/support/scripted-openai.ts) playing
 * the scripted game (tests/support/game-script.ts), with a limit in front of it (its `intercept`
 * hook):
 *
 * - a SLIDING 60-second window per model: a chat completion is admitted when fewer than R admitted
 *   requests of that model arrived in the last 60 s (arrival = the moment the hook sees it);
 *   otherwise it is answered 429 with `Retry-After` = the whole seconds until the oldest admitted
 *   request leaves the window (rounded up, at least 1). Rejected requests do not count against the
 *   window.
 * - Embeddings are NOT limited and not counted in R: a real provider limits each model separately,
 *   and the embedding model is another model (`rl-embed-*`, no `requestsPerMinute` on its ref).
 *
 * The run goes through Temporal (bench/lib/harness.ts: real dev server, real workers in this
 * process): `--concurrency` episodes in flight, `--llm-concurrency` model activities per worker,
 * `--latency` ms per scripted answer — far more demand than R. All three chat roles use ONE model on
 * one key (three refs that differ only in maxOutputTokens), so they share one provider limit and,
 * client-side, one limiter (activities/kit/rate-limiter.ts). It runs for `--minutes`, counted from
 * the first chat request, then the run is stopped (episodes in flight finish; that drain is left
 * out of the measured window).
 *
 * Modes, in the same invocation, each on its own model name so windows and limiters start fresh:
 * - `limited`: `requestsPerMinute: R` on the three chat refs;
 * - `none`: no client-side limit, relying on 429 + Retry-After (Temporal's nextRetryDelay) alone;
 * - `over` (optional): `requestsPerMinute: 1.1 R`, a limit set too high, so the 429 hold-back works.
 *
 * Reported per mode: admitted requests per minute / R (utilisation) over the steady window (after
 * the first minute) and over the whole window; 429s and their share of all chat requests; whether any
 * retry came earlier than its Retry-After (a retry = the next Defender or Judge request with the same
 * model and body as a rejected one — their prompts hold the episode's unique question; the
 * Attacker's prompt can repeat across episodes, so its retries are not matched); and requests of any
 * role that arrived while a Retry-After announced for that model was still running.
 *
 * Usage: npx tsx bench/rate-limit.ts [--rpm 120] [--minutes 3 (whole, ≥ 2)] [--modes limited,none(,over)]
 *        [--concurrency 16] [--llm-concurrency 16] [--latency 200] [--out bench/results/rate-limit.json]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { rateLimiterFor } from '../activities/kit/rate-limiter.js';
import type { ModelRef } from '../common/config.js';
import { scriptGame } from '../tests/support/game-script.js';
import type { RecordedRequest } from '../tests/support/scripted-openai.js';
import { type RunStatus, statusQuery, stopSignal } from '../workflows/messages.js';
import { arg, BENCH_KEY_ENV, type BenchEnv, benchConfig, runThroughTemporal, startBenchEnv } from './lib/harness.js';

const R = Number(arg('rpm', '120'));
const minutes = Number(arg('minutes', '3'));
const modes = arg('modes', 'limited,none').split(',').map((m) => m.trim()) as Mode[];
const concurrency = Number(arg('concurrency', '16'));
const llmConcurrency = Number(arg('llm-concurrency', '16'));
const latencyMs = Number(arg('latency', '200'));
const outPath = arg('out', join(import.meta.dirname, 'results', 'rate-limit.json'));
const WINDOW_MS = 60_000;
const durationMs = minutes * 60_000;

type Mode = 'limited' | 'none' | 'over';
const MODES: Record<Mode, { rpm: number | undefined; label: string }> = {
  limited: { rpm: R, label: `requestsPerMinute = R (${R})` },
  none: { rpm: undefined, label: 'no client-side limit (429 + Retry-After only)' },
  over: { rpm: +(1.1 * R).toFixed(3), label: `requestsPerMinute = 1.1 R (${+(1.1 * R).toFixed(3)}), set too high` },
};
for (const m of modes) if (!(m in MODES)) throw new Error(`--modes: unknown mode ${m} (limited, none, over)`);
// Whole minutes: a sliding-window server admits at most R in each, so a part-minute would flatter bursts.
if (!(R > 0) || !Number.isInteger(minutes) || minutes < 2) throw new Error('--rpm must be > 0 and --minutes a whole number ≥ 2 (the first minute is not steady)');

interface Seen {
  at: number;
  model: string;
  role: string;
  admitted: boolean;
  retryAfterS?: number;
  hash: string;
}

/** The limit in front of the scripted server: a sliding 60 s window of admitted requests per model. */
function installLimit(env: BenchEnv, seen: Seen[]): void {
  const windows = new Map<string, number[]>();
  env.llm.intercept((req: RecordedRequest) => {
    if (!req.path.endsWith('/chat/completions')) return undefined;
    const now = Date.now();
    const model = String(req.body?.model ?? '');
    const hash = createHash('sha1').update(model).update(JSON.stringify(req.body?.messages ?? [])).digest('hex');
    const w = windows.get(model) ?? [];
    while (w.length > 0 && w[0]! <= now - WINDOW_MS) w.shift();
    windows.set(model, w);
    if (w.length >= R) {
      const retryAfterS = Math.max(1, Math.ceil((w[0]! + WINDOW_MS - now) / 1000));
      seen.push({ at: now, model, role: req.role, admitted: false, retryAfterS, hash });
      return { status: 429, retryAfter: String(retryAfterS), message: `Rate limit reached for ${model}: ${R} requests per minute` };
    }
    w.push(now);
    seen.push({ at: now, model, role: req.role, admitted: true, hash });
    return undefined;
  });
}

interface Row {
  mode: Mode;
  label: string;
  model: string;
  requestsPerMinute: number | null;
  window: { fromMs: number; toMs: number };
  chatRequests: number;
  admitted: number;
  rejected429: number;
  share429: number;
  utilisationWhole: number;
  utilisationSteady: number;
  admittedPerMinute: number[];
  maxAdmittedInAny60s: number;
  retries: number;
  earlyRetries: number;
  minRetryMarginMs: number | null;
  duringAnnouncedHold: number;
  drain: { chatRequests: number; rejected429: number; ms: number };
  episodes: { finished: number; accepted: number; failed: number };
  limiter: { released: number; waited: number; heldBack: number; handedBack: number } | null;
  runMs: number;
}

function analyse(mode: Mode, model: string, seen: Seen[], t0: number, runMs: number, status: RunStatus | undefined, endAt: number): Row {
  const all = seen.filter((s) => s.model === model).sort((a, b) => a.at - b.at);
  const inWindow = all.filter((s) => s.at >= t0 && s.at < t0 + durationMs);
  const admitted = inWindow.filter((s) => s.admitted);
  const rejected = inWindow.filter((s) => !s.admitted);
  const steady = admitted.filter((s) => s.at >= t0 + WINDOW_MS).length;
  const perMinute = Array.from({ length: Math.ceil(minutes) }, (_, i) => admitted.filter((s) => s.at >= t0 + i * WINDOW_MS && s.at < t0 + Math.min((i + 1) * WINDOW_MS, durationMs)).length);
  let maxIn60 = 0;
  for (let i = 0, j = 0; i < admitted.length; i++) {
    while (admitted[i]!.at - admitted[j]!.at >= WINDOW_MS) j++;
    maxIn60 = Math.max(maxIn60, i - j + 1);
  }

  // Retries against their Retry-After, over everything this model saw (drain included). Only the
  // Defender's and Judge's requests are matched to their retries: their prompts hold the episode's
  // unique question, while two episodes can send the Attacker the very same prompt.
  const pending = new Map<string, number>();
  let holdUntil = -Infinity;
  let retries = 0;
  let early = 0;
  let duringHold = 0;
  let minMargin = Infinity;
  for (const s of all) {
    if (s.at < holdUntil) duringHold++;
    const deadline = s.role === 'attacker' ? undefined : pending.get(s.hash);
    if (deadline !== undefined) {
      pending.delete(s.hash);
      retries++;
      if (s.at < deadline) early++;
      minMargin = Math.min(minMargin, s.at - deadline);
    }
    if (!s.admitted) {
      const until = s.at + s.retryAfterS! * 1000;
      if (s.role !== 'attacker') pending.set(s.hash, until);
      holdUntil = Math.max(holdUntil, until);
    }
  }
  const drained = all.filter((s) => s.at >= t0 + durationMs);
  const d = Object.values(status?.domains ?? {});
  const rpm = MODES[mode].rpm;
  const limiter = rpm === undefined ? undefined : rateLimiterFor(chatRef(model, rpm, 512));
  return {
    mode,
    label: MODES[mode].label,
    model,
    requestsPerMinute: rpm ?? null,
    window: { fromMs: 0, toMs: durationMs },
    chatRequests: inWindow.length,
    admitted: admitted.length,
    rejected429: rejected.length,
    share429: inWindow.length > 0 ? rejected.length / inWindow.length : 0,
    utilisationWhole: admitted.length / ((R * durationMs) / WINDOW_MS),
    utilisationSteady: steady / ((R * (durationMs - WINDOW_MS)) / WINDOW_MS),
    admittedPerMinute: perMinute,
    maxAdmittedInAny60s: maxIn60,
    retries,
    earlyRetries: early,
    minRetryMarginMs: Number.isFinite(minMargin) ? minMargin : null,
    duringAnnouncedHold: duringHold,
    drain: { chatRequests: drained.length, rejected429: drained.filter((s) => !s.admitted).length, ms: Math.max(0, endAt - (t0 + durationMs)) },
    episodes: {
      finished: d.reduce((n, x) => n + x.episodesFinished, 0),
      accepted: d.reduce((n, x) => n + x.accepted, 0),
      failed: d.reduce((n, x) => n + (x.rejected.failed ?? 0), 0),
    },
    limiter: limiter ? { released: limiter.stats.released, waited: limiter.stats.waited, heldBack: limiter.stats.heldBack, handedBack: limiter.stats.handedBack } : null,
    runMs,
  };
}

function chatRef(model: string, rpm: number | undefined, maxOutputTokens: number): ModelRef {
  return { provider: 'openai', model, baseURL: BASE_URL, apiKeyEnv: BENCH_KEY_ENV, maxOutputTokens, ...(rpm !== undefined ? { requestsPerMinute: rpm } : {}) };
}
let BASE_URL = '';

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function runMode(env: BenchEnv, mode: Mode, seen: Seen[]): Promise<Row> {
  const model = `rl-${mode}`;
  const rpm = MODES[mode].rpm;
  const config = benchConfig(env.llm.baseURL, `rate-limit-${mode}`, {
    // One model for the three chat roles: one provider limit, one client-side limiter.
    models: {
      a: chatRef(model, rpm, 512),
      b: chatRef(model, rpm, 768),
      judge: chatRef(model, rpm, 1024),
      embedding: { provider: 'openai', model: `rl-embed-${mode}`, baseURL: env.llm.baseURL, apiKeyEnv: BENCH_KEY_ENV },
    },
    generation: { targetAccepted: 100_000, maxEpisodes: 1_000_000, concurrency, continueAsNewEvery: 100_000 },
  });
  let t0 = NaN;
  let status: RunStatus | undefined;
  let endAt = 0;
  const { ms } = await runThroughTemporal(env, config, {
    workers: { llmConcurrency },
    during: async (h) => {
      // The window starts at this mode's first chat request.
      for (;;) {
        const first = seen.find((s) => s.model === model);
        if (first) {
          t0 = first.at;
          break;
        }
        await sleep(50);
      }
      for (let last = -1; Date.now() < t0 + durationMs; ) {
        await sleep(Math.min(5000, t0 + durationMs - Date.now()));
        const min = Math.floor((Date.now() - t0) / WINDOW_MS);
        if (min !== last) {
          last = min;
          const got = seen.filter((s) => s.model === model && s.at >= t0);
          console.error(`[${mode}] ${((Date.now() - t0) / 1000).toFixed(0)} s: ${got.filter((s) => s.admitted).length} admitted, ${got.filter((s) => !s.admitted).length} × 429`);
        }
      }
      await h.signal(stopSignal, { reason: 'stopped' });
      await h.result().catch(() => undefined);
      endAt = Date.now();
      status = await h.query(statusQuery).catch(() => undefined);
    },
  });
  return analyse(mode, model, seen, t0, ms, status, endAt);
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const f3 = (x: number) => x.toFixed(3);

async function main(): Promise<void> {
  const env = await startBenchEnv();
  BASE_URL = env.llm.baseURL;
  scriptGame(env.llm, { delayMs: latencyMs });
  const seen: Seen[] = [];
  installLimit(env, seen);
  const load0 = loadavg();
  const started = new Date();
  const rows: Row[] = [];
  try {
    for (const mode of modes) {
      rows.push(await runMode(env, mode, seen));
      env.llm.requests.length = 0; // the server's own log: not needed, and it grows
    }
  } finally {
    await env.close();
  }
  const load1 = loadavg();

  const result = {
    benchmark: 'rate-limit',
    date: started.toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version, loadavgStart: load0, loadavgEnd: load1 },
    options: { rpm: R, minutes, modes, concurrency, llmConcurrency, latencyMs },
    server: 'sliding 60 s window of admitted chat completions per model; 429 with Retry-After = ceil(seconds until the oldest admitted leaves the window), at least 1; rejected requests not counted; embeddings not limited',
    target: 'utilisation >= 0.95 with 429s <= 1% of calls',
    rows,
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(result, null, 2) + '\n');

  console.log(`R = ${R}/min, ${minutes} min measured from the first chat request, ${concurrency} episodes in flight, ${llmConcurrency} model activities per worker, ${latencyMs} ms per answer; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}`);
  console.log('');
  console.log('| client-side limit | chat requests | admitted | admitted/min (per minute) | utilisation, steady (after minute 1) | utilisation, whole | 429s | 429 share | retries before their Retry-After (Defender/Judge) | requests during an announced Retry-After | episodes finished / failed | target met |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const met = r.utilisationSteady >= 0.95 && r.share429 <= 0.01;
    console.log(
      `| ${r.label} | ${r.chatRequests} | ${r.admitted} | ${r.admittedPerMinute.join(', ')} | ${f3(r.utilisationSteady)} | ${f3(r.utilisationWhole)} | ${r.rejected429} | ${pct(r.share429)} | ${r.earlyRetries} of ${r.retries} | ${r.duringAnnouncedHold} | ${r.episodes.finished} / ${r.episodes.failed} | ${met ? 'yes' : 'no'} |`,
    );
  }
  console.log(`\nwrote ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
