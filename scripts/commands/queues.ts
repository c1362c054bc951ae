import type { Command } from 'commander';
import { readEnv } from '../../common/env.js';
import { taskQueues } from '../../common/queues.js';
import { withClient } from '../lib/client.js';
import { out } from '../lib/output.js';

/**
 * `queues`: this checkout's task queues (NANOFLUX_TASK_QUEUE_PREFIX, else its own default), for
 * `temporal workflow start --task-queue …` and the web UI, and who serves them, by build.
 */
export function registerQueueCommands(program: Command): void {
  program
    .command('queues')
    .summary("this checkout's task queues, and the workers on them by build")
    .description("the task queues of this checkout's deployment (named from NANOFLUX_TASK_QUEUE_PREFIX, else from the checkout's path), this checkout's build id, and the workers polling them by build (--offline: the names alone, no server asked). Start runs from the Temporal CLI on the main queue: temporal workflow start --task-queue \"$(nanoflux queues --main)\" …")
    .option('--main', 'print the main queue alone (for scripts)')
    .option('--offline', 'do not ask the server who polls')
    .action(async (opts: { main?: boolean; offline?: boolean }, cmd: Command) => {
      const env = readEnv();
      const q = taskQueues(env.taskQueuePrefix);
      if (opts.main) return console.log(q.main);
      const { sourceBuildId } = await import('../../workers/build-id.js');
      const build = env.workerVersioning ? (env.buildId ?? sourceBuildId()) : null;
      const names = { main: q.main, llm: q.llm, train: q.train, store: q.store('<data dir id>'), trainHost: q.trainHost('<data dir id>') };
      const { deploymentWorkers, describeBuilds } = await import('../../workers/deployment.js');
      const workers = opts.offline ? undefined : await withClient((client) => deploymentWorkers(client, env.temporalNamespace, q));
      const human = [
        `prefix  ${env.taskQueuePrefix}${env.given.has('NANOFLUX_TASK_QUEUE_PREFIX') ? '' : ' (this checkout\'s default; set NANOFLUX_TASK_QUEUE_PREFIX alike on every host of one deployment)'}`,
        `queues  ${q.main} (workflows) · ${q.llm} (model calls) · ${q.train} (fine-tunes, evaluation) · ${names.store} · ${names.trainHost}`,
        `build   ${build ?? 'unversioned (NANOFLUX_WORKER_VERSIONING=0)'}`,
        ...(workers ? [`workers ${describeBuilds(workers)}`] : []),
      ].join('\n');
      out(cmd).print(human, { prefix: env.taskQueuePrefix, queues: names, build, ...(workers ? { workers } : {}) });
    });
}
