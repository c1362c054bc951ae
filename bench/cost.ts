/**
 * Cost by tier (issue 16): the same seeded run through Temporal at each tier — standard, flex,
 * batch — against the scripted OpenAI-compatible server (a stand-in for a paid provider), which
 * bills every completion it answers at the tier it answered at (flex and Batch API lines at half
 * price, the provider's discount). Per tier: the server's bill per accepted example and its ratio to
 * standard, the wall time, and the chat calls per accepted example; then the prompt tokens each role
 * shares with its previous request (what a provider's prefix cache can serve). Also checks that the
 * run's own cost (status) equals the server's bill.
 *
 * Usage: npm run bench:cost -- [--target 12] [--concurrency 1]
 */
import type { RunConfig } from '../common/config.js';
import { arg, benchConfig, runThroughTemporal, startBenchEnv } from './lib/harness.js';
import { sharedPrefixShares } from './lib/prompt-prefix.js';
import { scriptGame } from '../tests/support/game-script.js';
import type { BilledCall } from '../tests/support/scripted-openai.js';

const target = Number(arg('target', '12'));
// One episode at a time by default: no episodes past the target in flight, so every tier plays exactly the same games.
const concurrency = Number(arg('concurrency', '1'));
const PRICE = { inputPerMillion: 2, outputPerMillion: 8 };
const TIER_DISCOUNT: Record<string, number> = { flex: 0.5, batch: 0.5 };
const TIERS = ['standard', 'flex', 'batch'] as const;

const usd = (bill: BilledCall[]) => bill.reduce((n, b) => n + ((b.promptTokens * PRICE.inputPerMillion + b.completionTokens * PRICE.outputPerMillion) / 1e6) * (1 - (TIER_DISCOUNT[b.tier] ?? 0)), 0);

async function main(): Promise<void> {
  const env = await startBenchEnv();
  try {
    env.llm.batches.behave({ pollsToFinish: 2 });
    const rows: Array<{ tier: string; perAccepted: number; wall: number; calls: number; matches: boolean }> = [];
    let prefixLine = '';
    let jobsLine = '';
    for (const tier of TIERS) {
      env.llm.requests.length = 0;
      env.llm.bill.length = 0;
      // The same games at every tier: the script starts afresh, and every third answer is right.
      scriptGame(env.llm, { defenderRight: (_q, n) => n % 3 === 0 });
      const base = benchConfig(env.llm.baseURL, `cost-${tier}`, {
        domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: Array.from({ length: 8 }, (_, i) => `topic ${i}`), benchmark: 'none' }],
        generation: { targetAccepted: target, maxEpisodes: target * 6, concurrency },
      });
      const at = (m: RunConfig['models']['a']) => ({ ...m, price: PRICE, ...(tier === 'standard' ? {} : { tier }), ...(tier === 'batch' ? { batch: { maxWaitSeconds: 0.2, maxRequests: 50_000, pollSeconds: 0.1 } } : {}) });
      const config: RunConfig = { ...base, models: { a: at(base.models.a), b: at(base.models.b), judge: at(base.models.judge), embedding: base.models.embedding } };
      const { ms, result } = await runThroughTemporal(env, config);
      const d = result.status.domains.math!;
      const chat = env.llm.chatRequests();
      const bill = usd(env.llm.bill);
      const own = d.cost.attacker + d.cost.defender + d.cost.judge;
      rows.push({ tier, perAccepted: bill / d.accepted, wall: ms / 1000, calls: chat.length / d.accepted, matches: Math.abs(own - bill) < 1e-9 });
      if (tier === 'batch') {
        const jobs = env.llm.batches.jobs.splice(0);
        jobsLine = `batch jobs: ${jobs.length}, lines per job ${(jobs.reduce((n, j) => n + j.lines.length, 0) / jobs.length).toFixed(1)} (largest ${Math.max(...jobs.map((j) => j.lines.length))})`;
      }
      if (tier === 'standard') {
        const shares = sharedPrefixShares(chat);
        const p = (role: string) => (shares[role] ?? 0).toFixed(2);
        prefixLine = `prefix-shared prompt tokens: attacker ${p('attacker')}, defender ${p('defender')}, judge ${p('judge')}`;
      }
    }
    const standard = rows[0]!.perAccepted;
    const fewest = Math.min(...rows.map((r) => r.calls));
    for (const r of rows) {
      console.log(`tier ${r.tier}: cost per accepted ${r.perAccepted.toFixed(6)} usd, ratio to standard ${(r.perAccepted / standard).toFixed(3)}, wall ${r.wall.toFixed(1)} s, calls per accepted ${r.calls.toFixed(2)} (${(r.calls / fewest).toFixed(2)}× the fewest); the run's own cost equals the bill: ${r.matches ? 'yes' : 'NO'}`);
    }
    console.log(jobsLine);
    console.log(prefixLine);
  } finally {
    await env.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
