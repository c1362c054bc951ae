/**
 * Per-episode orchestration overhead: the same episodes (same activities, same scripted
 * OpenAI-compatible server on loopback) run (1) through Temporal — run → domain loop → episode
 * child workflows on a real dev server — and (2) as a plain in-process async loop that calls the
 * activity functions directly. Reported as ratios measured in the same run; absolute times on a
 * shared machine are noise. Usage: npm run bench -- [episodes=40] [latencyMs=0,200] [concurrency=4]
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildActivityDeps } from '../activities/deps.js';
import { createModelActivities, createStoreActivities } from '../activities/index.js';
import { parseRunConfig, type RunConfig } from '../common/config.js';
import { readEnv } from '../common/env.js';
import { TaskQueue } from '../common/queues.js';
import { startDevServer } from '../scripts/lib/dev-server.js';
import { scriptGame, testConfig } from '../tests/support/game-script.js';
import { startScriptedOpenAI } from '../tests/support/scripted-openai.js';
import { createWorkers } from '../workers/create-workers.js';
import { episodeKey, runWorkflowId } from '../workflows/logic/ids.js';
import { decide } from '../workflows/logic/decide.js';
import { rolesFor, topicFor } from '../workflows/logic/roles.js';
import type { nanofluxRun } from '../workflows/run.js';

const episodes = Number(process.argv[2] ?? 40);
const latencies = (process.argv[3] ?? '0,200').split(',').map(Number);
const concurrency = Number(process.argv[4] ?? 4);
process.env.NANOFLUX_TEST_KEY = 'bench-key';
Runtime.install({ logger: new DefaultLogger('ERROR') });

function configFor(baseURL: string, runId: string): RunConfig {
  // targetAccepted above maxEpisodes: every run plays exactly `episodes` episodes.
  const r = parseRunConfig(testConfig(baseURL, runId, { generation: { targetAccepted: episodes + 1, maxEpisodes: episodes, concurrency } }));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

/** The baseline: the episode's steps as a plain async function, `concurrency` at a time. */
async function plainLoop(config: RunConfig, home: string): Promise<void> {
  const deps = buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
  const m = createModelActivities(deps);
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
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < episodes) await one(next++);
  }));
  await deps.close();
}

async function main(): Promise<void> {
  const server = await startDevServer({});
  const llm = await startScriptedOpenAI();
  const rows: string[] = [];
  try {
    for (const latency of latencies) {
      scriptGame(llm, { delayMs: latency });
      const home = mkdtempSync(join(tmpdir(), 'nf-bench-'));
      const t0 = performance.now();
      await plainLoop(configFor(llm.baseURL, `plain-${latency}`), home);
      const plainMs = performance.now() - t0;

      const connection = await NativeConnection.connect({ address: server.address });
      const deps = buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
      const workers = await createWorkers({ connection, namespace: 'default', deps });
      const running = Promise.all(workers.map((w) => w.run()));
      const cc = await Connection.connect({ address: server.address });
      const client = new Client({ connection: cc, namespace: 'default' });
      const runId = `temporal-${latency}`;
      const t1 = performance.now();
      await client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(runId), args: [configFor(llm.baseURL, runId)] });
      const temporalMs = performance.now() - t1;
      workers.forEach((w) => w.shutdown());
      await running;
      await deps.close();
      await cc.close();
      await connection.close();

      const perEpisode = (ms: number) => (ms / episodes).toFixed(1);
      rows.push(
        `| ${latency} ms | ${episodes} | ${concurrency} | ${perEpisode(plainMs)} | ${perEpisode(temporalMs)} | ${((temporalMs - plainMs) / episodes).toFixed(1)} | ${(plainMs / temporalMs).toFixed(3)} |`,
      );
    }
  } finally {
    await llm.close();
    await server.stop();
  }
  console.log('| model latency | episodes | concurrency | plain loop ms/episode | Temporal ms/episode | overhead ms/episode | throughput ratio (Temporal / plain) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
