/**
 * Prompt-cache friendliness (issue 16, item 5): one run through Temporal against the scripted
 * OpenAI-compatible server (a stand-in for a paid provider), then, per role, the share of prompt
 * characters that repeat the start of that role's previous request (bench/lib/prompt-prefix.ts) —
 * what OpenAI's automatic prefix cache (prompts over ~1,024 tokens) can serve at the cached price.
 *
 * Usage: npm run bench:prompt-cache -- [--episodes 16] [--concurrency 1]
 */
import { arg, benchConfig, runThroughTemporal, startBenchEnv } from './lib/harness.js';
import { sharedPrefixShares } from './lib/prompt-prefix.js';
import { scriptGame } from '../tests/support/game-script.js';

const episodes = Number(arg('episodes', '16'));
const concurrency = Number(arg('concurrency', '1'));

async function main(): Promise<void> {
  const env = await startBenchEnv();
  try {
    scriptGame(env.llm, { defenderRight: (_q, n) => n % 3 === 0 });
    const topics = Array.from({ length: 8 }, (_, i) => `topic ${i}`);
    const config = benchConfig(env.llm.baseURL, 'prompt-cache', {
      domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics, benchmark: 'none' }],
      generation: { targetAccepted: episodes, maxEpisodes: episodes, concurrency },
    });
    await runThroughTemporal(env, config);
    const chat = env.llm.requests.filter((r) => r.path.endsWith('/chat/completions') && r.body.response_format?.json_schema?.name !== 'preflight');
    const shares = sharedPrefixShares(chat);
    const p = (role: string) => (shares[role] ?? 0).toFixed(2);
    console.log(`${chat.length} chat requests over ${episodes} episodes`);
    console.log(`prefix-shared prompt tokens: attacker ${p('attacker')}, defender ${p('defender')}, judge ${p('judge')}`);
  } finally {
    await env.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
