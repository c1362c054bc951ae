/**
 * Per-episode orchestration overhead: the same episodes (same activities, same scripted
 * OpenAI-compatible server on loopback) run (1) through Temporal — run → domain loop → episode
 * child workflows on a real dev server — and (2) as a plain in-process async loop that calls the
 * activity functions directly. Reported as ratios measured in the same run; absolute times on a
 * shared machine are noise. Each round runs both back to back, the order alternating between
 * rounds, so slow phases of a shared machine fall on both alike; the figure is the ratio of the
 * totals over all rounds (each round's ratio is kept for the spread).
 * Usage: npm run bench -- [--episodes 80] [--latency 0,200] [--concurrency 4] [--rounds 3] [--out bench/results/episode-overhead.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createGameActivities, createStoreActivities } from '../activities/index.js';
import type { RunConfig } from '../common/config.js';
import { scriptGame } from '../tests/support/game-script.js';
import { decide } from '../workflows/logic/decide.js';
import { episodeKey } from '../workflows/logic/ids.js';
import { rolesFor, topicFor } from '../workflows/logic/roles.js';
import { arg, benchConfig, benchDeps, benchHome, type BenchEnv, runThroughTemporal, startBenchEnv } from './lib/harness.js';

const episodes = Number(arg('episodes', '80'));
const latencies = arg('latency', '0,200').split(',').map(Number);
const concurrency = Number(arg('concurrency', '4'));
const rounds = Number(arg('rounds', '3'));
const outPath = arg('out', join(import.meta.dirname, 'results', 'episode-overhead.json'));

function configFor(env: BenchEnv, runId: string): RunConfig {
  // targetAccepted above maxEpisodes: every run plays exactly `episodes` episodes.
  return benchConfig(env.llm.baseURL, runId, { generation: { targetAccepted: episodes + 1, maxEpisodes: episodes, concurrency } });
}

/** The baseline: the episode's steps as a plain async function, `concurrency` at a time. */
async function plainLoop(config: RunConfig): Promise<number> {
  const deps = benchDeps(benchHome());
  const m = createGameActivities(deps);
  const s = createStoreActivities(deps);
  const domain = config.domains[0]!;
  const one = async (n: number) => {
    const roles = rolesFor(n, config.models);
    const d = { name: domain.name, brief: domain.brief, pack: domain.pack, promptVersion: config.generation.promptVersion };
    const a = await m.attack({ domain: d, topic: topicFor(n, domain.topics), targetComplexity: 3, targetHops: 2, defenderProfile: '', model: roles.attacker, maxSchemaRetries: 2 });
    const nov = await s.checkNovelty({ domain: d.name, benchmark: 'none', embedding: config.models.embedding, question: a.attack.question, selfKey: episodeKey(config.runId, d.name, n) });
    if ((nov.nearest?.score ?? 0) >= config.generation.noveltyThreshold) return;
    const def = await m.defend({ domain: d, question: a.attack.question, model: roles.defender, maxSchemaRetries: 2 });
    const j = await m.judge({ domain: d, attack: a.attack, defenses: [def.defense], model: config.models.judge, maxSchemaRetries: 2, tools: config.judge });
    const outcome = decide({ ...j.verdict, defenderCorrect: j.verdict.defendersCorrect[0]! });
    if (outcome === 'accepted') {
      await s.storeExample({
        example: { id: episodeKey(config.runId, d.name, n), question: a.attack.question, solutionSteps: a.attack.solutionSteps, answer: a.attack.referenceAnswer, annotation: a.attack.annotation, domain: d.name, skill: a.attack.skill, complexity: 3, hops: 2, quality: 4, qualityLevel: 'L4', novelty: 1, provenance: { runId: config.runId, episode: n, workflowId: '', attackerModel: a.model, defenderModel: def.model, judgeModel: j.model } },
        embedding: config.models.embedding,
        threshold: config.generation.noveltyThreshold,
      });
    }
    await s.recordEpisode({ workflowId: `plain-${n}`, runId: config.runId, domain: d.name, episode: n, summary: { episode: n, workflowId: `plain-${n}`, attackerSlot: roles.attackerSlot, topic: '', targetComplexity: 3, outcome, tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0 }, toolCalls: 0 }, transcript: {} });
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < episodes) await one(next++);
  }));
  const ms = performance.now() - t0;
  await deps.close();
  return ms;
}

interface Row {
  latencyMs: number;
  episodes: number;
  concurrency: number;
  rounds: { plainMs: number; temporalMs: number; ratio: number; temporalFirst: boolean }[];
  plainMsPerEpisode: number;
  temporalMsPerEpisode: number;
  overheadMsPerEpisode: number;
  ratio: number;
}

async function main(): Promise<void> {
  const env = await startBenchEnv();
  const rows: Row[] = [];
  const load = [loadavg()[0]!];
  try {
    for (const latency of latencies) {
      scriptGame(env.llm, { delayMs: latency });
      const row: Row = { latencyMs: latency, episodes, concurrency, rounds: [], plainMsPerEpisode: 0, temporalMsPerEpisode: 0, overheadMsPerEpisode: 0, ratio: 0 };
      for (let r = 0; r < rounds; r++) {
        const temporalFirst = r % 2 === 1;
        let plainMs = 0;
        let temporalMs = 0;
        for (const which of temporalFirst ? ['temporal', 'plain'] : ['plain', 'temporal']) {
          if (which === 'plain') plainMs = await plainLoop(configFor(env, `plain-${latency}-${r}`));
          // As many model calls in flight as the plain loop can have (the worker's default is 8).
          else temporalMs = (await runThroughTemporal(env, configFor(env, `temporal-${latency}-${r}`), { workers: { llmConcurrency: Math.max(8, concurrency) } })).ms;
        }
        row.rounds.push({ plainMs, temporalMs, ratio: plainMs / temporalMs, temporalFirst });
        load.push(loadavg()[0]!);
      }
      const plain = row.rounds.reduce((n, x) => n + x.plainMs, 0);
      const temporal = row.rounds.reduce((n, x) => n + x.temporalMs, 0);
      const n = episodes * rounds;
      Object.assign(row, { plainMsPerEpisode: plain / n, temporalMsPerEpisode: temporal / n, overheadMsPerEpisode: (temporal - plain) / n, ratio: plain / temporal });
      rows.push(row);
    }
  } finally {
    await env.close();
  }
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify({ date: new Date().toISOString(), loadavg: load, rows }, null, 2));
  console.log(`load average (1 min) during the run: ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}; results in ${outPath}`);
  console.log('| model latency | episodes × rounds | concurrency | plain loop ms/episode | Temporal ms/episode | overhead ms/episode | throughput ratio (Temporal / plain) | per round |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.latencyMs} ms | ${r.episodes} × ${r.rounds.length} | ${r.concurrency} | ${r.plainMsPerEpisode.toFixed(1)} | ${r.temporalMsPerEpisode.toFixed(1)} | ${r.overheadMsPerEpisode.toFixed(1)} | **${r.ratio.toFixed(3)}** | ${r.rounds.map((x) => x.ratio.toFixed(2)).join(', ')} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
