import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, type NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../common/env.js';
import { storeQueue, TaskQueue } from '../common/queues.js';
import { SA } from '../common/search-attributes.js';
import { type ActivityDeps, createDatasetActivities, createGameActivities, createStageActivities, createStoreActivities } from '../activities/index.js';
import { splitStageActivities } from '../activities/stages/activities.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (tests build it once); default: bundle workflows/ at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Model calls in flight per worker process (the `nanoflux-llm` queue). */
  llmConcurrency?: number;
  /** Fine-tunes and evaluation batches in flight per worker process (the `nanoflux-train` queue); default NANOFLUX_TRAIN_CONCURRENCY or 1. */
  trainConcurrency?: number;
  /** The queues this process serves (default all): a GPU host may serve `nanoflux-train` alone. */
  queues?: readonly string[];
}

/** NANOFLUX_QUEUES=nanoflux-train,… → the queues named, each checked (common/env.ts); unset → all three. */
export function queuesFromEnv(value: string | undefined): string[] {
  return readEnv({ NANOFLUX_QUEUES: value }).queues;
}

/**
 * The worker of each queue, in one process by default. Each queue could run in a process of its
 * own (say the LLM queue near the GPUs); they share nothing but the activity dependencies.
 */
export async function createWorkers(o: WorkerSetOptions): Promise<Worker[]> {
  const serve = (q: string) => (o.queues ?? Object.values(TaskQueue)).includes(q);
  const workers: Worker[] = [];
  const stages = splitStageActivities(createStageActivities(o.deps));
  // The episode's executed check runs as a local activity, so on the worker that runs the workflows; the model calls on `nanoflux-llm`.
  const { verifyReference, ...modelCalls } = createGameActivities(o.deps);
  // The stage activities' light half (preparing files, scoring, the report) runs beside the store.
  const storeSide = { ...createStoreActivities(o.deps), ...createDatasetActivities(o.deps), ...stages.files, verifyReference };
  if (serve(TaskQueue.main)) {
    // Bundled once for both workflow workers (`nanoflux` and this data dir's queue): a bundle takes seconds and tens of MB.
    const workflowSource = { workflowBundle: o.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger })) };
    workers.push(await Worker.create({ connection: o.connection, namespace: o.namespace, taskQueue: TaskQueue.main, ...workflowSource, activities: storeSide }));
    // This data dir's own queue: the runs it owns run their workflows and store steps here, and
    // nowhere else, so their examples never land in another host's store (workflows/run.ts).
    workers.push(await Worker.create({ connection: o.connection, namespace: o.namespace, taskQueue: storeQueue(o.deps.owner.id), ...workflowSource, activities: storeSide }));
  }
  if (serve(TaskQueue.llm)) workers.push(await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: TaskQueue.llm,
    activities: modelCalls,
    maxConcurrentActivityTaskExecutions: o.llmConcurrency ?? 8,
  }));
  if (serve(TaskQueue.train)) workers.push(await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: TaskQueue.train,
    activities: stages.compute,
    // One at a time by default: a fine-tune takes every core (or the GPU) it is given.
    maxConcurrentActivityTaskExecutions: o.trainConcurrency ?? readEnv().trainConcurrency,
  }));
  return workers;
}

/** Registers the project's search attributes (idempotent), so workflows can set them on any server. */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const toAdd = Object.values(SA).filter((k) => !(k.name in (customAttributes ?? {})));
    if (toAdd.length === 0) return;
    const { INDEXED_VALUE_TYPE_INT, INDEXED_VALUE_TYPE_KEYWORD } = proto.temporal.api.enums.v1.IndexedValueType;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(toAdd.map((k) => [k.name, k.type === SearchAttributeType.INT ? INDEXED_VALUE_TYPE_INT : INDEXED_VALUE_TYPE_KEYWORD])),
    });
  } finally {
    await connection.close();
  }
}
