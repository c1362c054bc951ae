import { readEnv } from './env.js';
import { taskQueues } from './queues.js';

/**
 * This process's task queues: from NANOFLUX_TASK_QUEUE_PREFIX, else the prefix of this checkout
 * (common/env.ts defaultQueuePrefix). For workers, the CLI, tests and benchmarks; workflows find
 * theirs from the queue they run on (common/queues.ts queuesOf), since they read no environment.
 */
export const TaskQueue = taskQueues(readEnv().taskQueuePrefix);
