/**
 * Worker memory over a long run: one run of `--episodes` episodes (default 2000) through the real
 * workers in this process, on a real `temporal server start-dev` (in memory, its own port), against
 * the scripted OpenAI-compatible server at 0 ms latency. The domain loop continues as new every 250
 * episodes (the default), so a 2000-episode run goes through 8 generations of it.
 *
 * Every 100 finished episodes (the run's status query) the process is garbage-collected and
 * `process.memoryUsage()` sampled. Reported: heapUsed and rss at 200 / half / all episodes, the
 * least-squares slope of heapUsed (and rss) over the second half in bytes per episode, and the ratio
 * heapUsed(all) / heapUsed(half). The baseline is the process itself at half-way: "no growth" means
 * a slope near zero and a ratio near 1.
 *
 * The scripted model server shares this process; the requests it records are dropped at every poll
 * so they do not count as the worker's. Workflow code runs in the SDK's worker thread, whose V8 heap
 * is in rss but not in heapUsed (Node 20 cannot read another thread's heap).
 *
 * Usage: node --expose-gc --import tsx bench/worker-memory.ts [--episodes 2000] [--concurrency 8]
 *        [--every 100] [--out bench/results/worker-memory.json]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { scriptGame } from '../tests/support/game-script.js';
import { statusQuery } from '../workflows/messages.js';
import { arg, benchConfig, benchHome, runThroughTemporal, startBenchEnv } from './lib/harness.js';

const episodes = Number(arg('episodes', '2000'));
const concurrency = Number(arg('concurrency', '8'));
const every = Number(arg('every', '100'));
const outPath = arg('out', join(import.meta.dirname, 'results', 'worker-memory.json'));
const POLL_MS = 200;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc: node --expose-gc --import tsx bench/worker-memory.ts');
  process.exit(2);
}

interface Sample {
  episodes: number;
  accepted: number;
  elapsedS: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Texts held by the embedder's cache (bounded at 2000 per embedder by design). */
  embedderCacheEntries: number;
}

function sample(ep: number, accepted: number, t0: number, cacheEntries: () => number): Sample {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { episodes: ep, accepted, elapsedS: (performance.now() - t0) / 1000, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, embedderCacheEntries: cacheEntries() };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) (num += (xs[i]! - mx) * (ys[i]! - my)), (den += (xs[i]! - mx) ** 2);
  return den === 0 ? 0 : num / den;
}

const MB = (b: number) => (b / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const env = await startBenchEnv();
  scriptGame(env.llm, { delayMs: 0 });
  const home = benchHome();
  const config = benchConfig(env.llm.baseURL, 'bench-memory', { generation: { targetAccepted: 100_000, maxEpisodes: episodes, concurrency, noveltyThreshold: 0.85 } });

  const samples: Sample[] = [];
  let cacheHeldBytes = 0;
  let finalEpisodes = 0;
  let runHistory = { events: 0, bytes: 0 };
  try {
    // Sampled while the run goes and once more after its result, with the workers still up.
    await runThroughTemporal(env, config, {
      home,
      during: async (handle, deps) => {
        const embedder = deps.embedder(config.models.embedding) as unknown as { cache?: Map<string, number[]> };
        const cacheEntries = () => embedder.cache?.size ?? -1;
        const t0 = performance.now();
        samples.push(sample(0, 0, t0, cacheEntries));
        let done = false;
        const result = handle.result().finally(() => (done = true));
        let next = every;
        while (!done) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          env.llm.requests.length = 0; // the scripted server's log is the test harness's memory, not the worker's
          let st;
          try {
            st = await handle.query(statusQuery);
          } catch {
            continue; // the run may be finishing
          }
          if (st.episodes >= next) {
            const s = sample(st.episodes, st.accepted, t0, cacheEntries);
            samples.push(s);
            console.error(`${String(s.episodes).padStart(5)} episodes  ${s.elapsedS.toFixed(0).padStart(4)} s  heapUsed ${MB(s.heapUsed)} MB  rss ${MB(s.rss)} MB  cache ${s.embedderCacheEntries}  load ${loadavg()[0]!.toFixed(1)}`);
            next = (Math.floor(st.episodes / every) + 1) * every;
          }
        }
        const r = await result;
        finalEpisodes = r.status.episodes;
        // The run workflow never continues as new: its progress reports land in its history.
        const d = await handle.describe();
        runHistory = { events: d.historyLength, bytes: d.historySize ?? 0 };
        env.llm.requests.length = 0;
        // The run is over, the workers still up: the last sample is the worker at the end of the run.
        const last = sample(finalEpisodes, r.status.accepted, t0, cacheEntries);
        if (samples.at(-1)!.episodes === finalEpisodes) samples.pop();
        samples.push(last);
        // How much of the heap the embedder's (bounded) cache holds: drop it and measure again.
        embedder.cache?.clear();
        cacheHeldBytes = last.heapUsed - sample(finalEpisodes, r.status.accepted, t0, cacheEntries).heapUsed;
      },
    });
  } finally {
    await env.close();
    rmSync(home, { recursive: true, force: true });
  }

  const total = finalEpisodes;
  const half = total / 2;
  const at = (n: number) => samples.reduce((best, s) => (Math.abs(s.episodes - n) < Math.abs(best.episodes - n) ? s : best));
  const second = samples.filter((s) => s.episodes >= half);
  const heapSlope = slope(second.map((s) => s.episodes), second.map((s) => s.heapUsed));
  const rssSlope = slope(second.map((s) => s.episodes), second.map((s) => s.rss));
  const [s200, sHalf, sEnd] = [at(200), at(half), at(total)];
  const wallS = sEnd.elapsedS;
  const summary = {
    episodes: total,
    accepted: sEnd.accepted,
    concurrency,
    continueAsNewEvery: config.generation.continueAsNewEvery,
    wallSeconds: wallS,
    episodesPerSecond: total / wallS,
    at: Object.fromEntries([s200, sHalf, sEnd].map((s) => [s.episodes, { heapUsedMB: Number(MB(s.heapUsed)), rssMB: Number(MB(s.rss)), embedderCacheEntries: s.embedderCacheEntries }])),
    secondHalf: {
      samples: second.length,
      heapUsedSlopeBytesPerEpisode: heapSlope,
      rssSlopeBytesPerEpisode: rssSlope,
      ratioHeapUsedEndToHalf: sEnd.heapUsed / sHalf.heapUsed,
      ratioRssEndToHalf: sEnd.rss / sHalf.rss,
    },
    runWorkflowHistory: { ...runHistory, eventsPerEpisode: runHistory.events / total },
    embedderCache: { entriesAtEnd: sEnd.embedderCacheEntries, heldBytes: cacheHeldBytes, bytesPerEntry: sEnd.embedderCacheEntries > 0 ? cacheHeldBytes / sEnd.embedderCacheEntries : 0 },
  };

  console.log(`\n${total} episodes (${sEnd.accepted} accepted), concurrency ${concurrency}, ${wallS.toFixed(0)} s (${summary.episodesPerSecond.toFixed(2)} episodes/s)\n`);
  console.log('| episodes | heapUsed MB | rss MB | embedder cache entries |');
  console.log('|---|---|---|---|');
  for (const s of new Set([s200, sHalf, sEnd])) console.log(`| ${s.episodes} | ${MB(s.heapUsed)} | ${MB(s.rss)} | ${s.embedderCacheEntries} |`);
  console.log(`\nsecond half (${second.length} samples): heapUsed slope ${heapSlope.toFixed(0)} B/episode, rss slope ${rssSlope.toFixed(0)} B/episode`);
  console.log(`ratio heapUsed(${sEnd.episodes}) / heapUsed(${sHalf.episodes}) = ${summary.secondHalf.ratioHeapUsedEndToHalf.toFixed(3)}; rss ratio ${summary.secondHalf.ratioRssEndToHalf.toFixed(3)}`);
  console.log(`run workflow history: ${runHistory.events} events, ${MB(runHistory.bytes)} MB (${(runHistory.events / total).toFixed(2)} events/episode)`);
  console.log(`embedder cache: ${sEnd.embedderCacheEntries} entries held ${MB(cacheHeldBytes)} MB (${summary.embedderCache.bytesPerEntry.toFixed(0)} B/entry)`);

  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(
    outPath,
    `${JSON.stringify({ benchmark: 'worker-memory', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadavg() }, options: { episodes, concurrency, every }, summary, samples }, null, 2)}\n`,
  );
  console.log(`\nwritten: ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
