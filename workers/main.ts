import { NativeConnection } from '@temporalio/worker';
import { readEnv } from '../common/env.js';
import { buildActivityDeps } from '../activities/deps.js';
import { createWorkers, registerSearchAttributes } from './create-workers.js';
import { installLogging } from './logger.js';

/**
 * `npm run worker`: the workers of the `nanoflux`, `nanoflux-llm` and `nanoflux-train` queues in one
 * process (NANOFLUX_QUEUES picks some: a GPU host may serve nanoflux-train alone).
 * Its settings (server, data dir, concurrency) come from the environment, as common/env.ts declares.
 */
async function main(): Promise<void> {
  const env = readEnv();
  installLogging({ level: env.logLevel, debug: env.debug });
  await registerSearchAttributes(env.temporalAddress, env.temporalNamespace);
  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const deps = buildActivityDeps(env);
  const { llmConcurrency, trainConcurrency, queues } = env;
  const workers = await createWorkers({ connection, namespace: env.temporalNamespace, deps, llmConcurrency, trainConcurrency, queues });
  console.log(`[worker] polling ${queues.join(', ')} on ${env.temporalAddress} (namespace ${env.temporalNamespace}); data in ${env.home}`);
  try {
    // Worker.run() shuts down on SIGINT/SIGTERM by default (Runtime shutdownSignals).
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await deps.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error(`[worker] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
