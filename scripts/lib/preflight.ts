import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { PreflightProblem } from '../../common/contracts/index.js';
import { readEnv } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { SA } from '../../common/search-attributes.js';
import type { nanofluxPreflight } from '../../workflows/preflight.js';
import { hinted, OperationalError, withTimeout } from './errors.js';

/** The queues whose workers run preflight's halves: a check nobody polls for would wait forever. */
const PREFLIGHT_QUEUES = [TaskQueue.main, TaskQueue.llm];

async function pollers(client: Client, queue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return r.pollers?.length ?? 0;
}

/**
 * `nanoflux validate --check`: the run's own preflight (workflows/preflight.ts) as a workflow of its
 * own, so keys, endpoints, files and sandbox are checked where the workers run, not in this shell.
 * The workflow is terminated if the answer does not come in time.
 */
export async function preflightOnWorkers(client: Client, raw: unknown, runId: string, timeoutMs: number): Promise<PreflightProblem[]> {
  for (const queue of PREFLIGHT_QUEUES) {
    if ((await pollers(client, queue)) === 0) {
      const env = readEnv();
      throw new OperationalError(hinted(`no worker polls ${queue} on ${env.temporalAddress} (namespace ${env.temporalNamespace})`, '--check runs on the workers that will do the work: start them with `npm run worker`'));
    }
  }
  const handle = await client.workflow.start<typeof nanofluxPreflight>('nanofluxPreflight', {
    taskQueue: TaskQueue.main,
    workflowId: `nanoflux-preflight-${runId}-${Date.now().toString(36)}`,
    args: [raw],
    typedSearchAttributes: [
      { key: SA.kind, value: 'preflight' },
      { key: SA.runId, value: runId },
    ],
  });
  try {
    const r = await withTimeout(handle.result(), timeoutMs, () => new OperationalError(hinted(`preflight did not finish within ${Math.round(timeoutMs / 1000)} s`, `a slow endpoint or a first model load: try --timeout ${Math.round((timeoutMs * 2) / 1000)}; the check's history is workflow ${handle.workflowId}`)));
    return r.problems;
  } catch (e) {
    await handle.terminate('nanoflux validate --check gave up waiting').catch(() => undefined);
    throw e;
  }
}
