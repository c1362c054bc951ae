import { NativeConnection } from '@temporalio/worker';
import { readEnv } from '../common/env.js';
import { buildActivityDeps } from '../activities/deps.js';
import { createWorkers, registerSearchAttributes } from './create-workers.js';
import { installLogging } from './logger.js';
import { installTracing } from './tracing.js';

/**
 * `npm run worker`: the workers of the main, llm and train queues of this deployment (their names from
 * NANOFLUX_TASK_QUEUE_PREFIX) in one process (NANOFLUX_QUEUES picks some: a GPU host may serve `train` alone).
 * Its settings (server, data dir, concurrency) come from the environment, as common/env.ts declares.
 */
async function main(): Promise<void> {
  const env = readEnv();
  installLogging({ level: env.logLevel, debug: env.debug, ...(env.metricsAddr ? { metricsAddr: env.metricsAddr } : {}) });
  // The OTLP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_HEADERS) itself.
  const tracing = env.otlpEndpoint ? installTracing({ serviceName: env.otelServiceName }) : undefined;
  await registerSearchAttributes(env.temporalAddress, env.temporalNamespace);
  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const deps = buildActivityDeps(env);
  const { llmConcurrency, trainConcurrency, queues } = env;
  const workers = await createWorkers({ connection, namespace: env.temporalNamespace, deps, llmConcurrency, trainConcurrency, queues, ...(tracing ? { tracing } : {}) });
  const q = workers.queues;
  const names = queues.flatMap((r) => (r === 'main' ? [q.main, q.store(deps.owner.id)] : r === 'train' ? [q.train, q.trainHost(deps.owner.id)] : [q.llm]));
  const build = workers.build ? `build ${workers.build.buildId} of deployment ${workers.build.deploymentName}` : 'unversioned (NANOFLUX_WORKER_VERSIONING=0)';
  const metrics = `${env.metricsAddr ? `; metrics at http://${env.metricsAddr}/metrics` : ''}${env.otlpEndpoint ? `; traces to ${env.otlpEndpoint}` : ''}`;
  console.log(`[worker] polling ${names.join(', ')} on ${env.temporalAddress} (namespace ${env.temporalNamespace}), ${build}; data in ${env.home}${metrics}`);
  try {
    // Worker.run() shuts down on SIGINT/SIGTERM by default (Runtime shutdownSignals).
    await workers.run();
  } finally {
    await deps.close();
    await connection.close();
    await tracing?.shutdown();
  }
}

main().catch((err) => {
  console.error(`[worker] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
