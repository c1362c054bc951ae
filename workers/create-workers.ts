import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, type NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../common/env.js';
import { type QueueRole, QUEUE_ROLES, type TaskQueues, taskQueues } from '../common/queues.js';
import { sourceBuildId } from './build-id.js';
import { type Build, deploymentOptions, keepServing } from './deployment.js';
import { watchBatches } from './batch-gauges.js';
import { type Tracing, WORKFLOW_TRACING_MODULE, workerTracingOptions } from './tracing.js';
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
  /** The queue roles this process serves (default all): a GPU host may serve `train` alone. */
  queues?: readonly QueueRole[];
  /** Names every queue (NANOFLUX_TASK_QUEUE_PREFIX; default this checkout's, common/env.ts). */
  prefix?: string;
  /** This worker's version under Worker Versioning (workers/deployment.ts); null: unversioned. Default from NANOFLUX_WORKER_VERSIONING and NANOFLUX_BUILD_ID. */
  build?: Build | null;
  /** An installed tracer provider (workers/tracing.ts): every worker then traces its workflows and activities. A prebuilt bundle must have been bundled with tracedBundle. */
  tracing?: Tracing;
  /** Where the worker set says what it does about builds (default the console). */
  log?: (line: string) => void;
}

/** The workers of one process, run together with the upkeep of their deployment's current build. */
export interface WorkerSet {
  workers: Worker[];
  queues: TaskQueues;
  build: Build | null;
  /** Runs every worker until shutdown (SIGINT/SIGTERM by default) and keeps the deployment served meanwhile. */
  run(): Promise<void>;
  /** Resolves once run() has these workers receiving tasks: their build is current (at once when unversioned). Never, while another build's workers serve. */
  serving(): Promise<void>;
  shutdown(): void;
}

/** The workflows' interceptors (workflows/tracing.ts) are bundled only when tracing: untraced, the sandbox makes no spans at all. */
export const tracedBundle = (traced: boolean) => (traced ? { workflowInterceptorModules: [WORKFLOW_TRACING_MODULE] } : {});

/** The build a worker of this process runs as: null when NANOFLUX_WORKER_VERSIONING=0. */
export function envBuild(env = readEnv()): Build | null {
  return env.workerVersioning ? { deploymentName: env.taskQueuePrefix, buildId: env.buildId ?? sourceBuildId() } : null;
}

/** NANOFLUX_QUEUES=train,… → the roles named, each checked (common/env.ts); unset → all three. */
export function queuesFromEnv(value: string | undefined): QueueRole[] {
  return readEnv({ NANOFLUX_QUEUES: value }).queues;
}

/**
 * The worker of each queue, in one process by default. Each queue could run in a process of its
 * own (say the LLM queue near the GPUs); they share nothing but the activity dependencies.
 */
export async function createWorkers(o: WorkerSetOptions): Promise<WorkerSet> {
  const serve = (role: QueueRole) => (o.queues ?? QUEUE_ROLES).includes(role);
  const build = o.build === undefined ? envBuild() : o.build;
  const q = taskQueues(build?.deploymentName ?? o.prefix ?? readEnv().taskQueuePrefix);
  const base = { connection: o.connection, namespace: o.namespace, ...deploymentOptions(build), ...(o.tracing ? workerTracingOptions(o.tracing) : {}) };
  const workers: Worker[] = [];
  const stages = splitStageActivities(createStageActivities({ ...o.deps, trainHost: q.trainHost(o.deps.owner.id) }));
  // The episode's executed check runs as a local activity, so on the worker that runs the workflows; the model calls on `nanoflux-llm`.
  const { verifyReference, ...modelCalls } = createGameActivities(o.deps);
  // The stage activities' light half (preparing files, scoring, the report) runs beside the store.
  // A batch-tier ref's model calls run here too, beside the batcher's ledger in this data dir (workflows/options.ts modelCallsFor).
  const storeSide = { ...createStoreActivities(o.deps), ...createDatasetActivities(o.deps), ...stages.files, verifyReference, ...modelCalls };
  if (serve('main')) {
    // Bundled once for both workflow workers (`nanoflux` and this data dir's queue): a bundle takes seconds and tens of MB.
    const workflowSource = { workflowBundle: o.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger, ...tracedBundle(o.tracing !== undefined) })) };
    // Batch-tier model calls wait here for their jobs, one slot each while they wait (an async wait, no
    // thread): as many slots as a domain may have episodes in flight (generation.concurrency ≤ 1000), times a few domains.
    const storeSlots = { maxConcurrentActivityTaskExecutions: 4000 };
    workers.push(await Worker.create({ ...base, taskQueue: q.main, ...workflowSource, activities: storeSide, ...storeSlots }));
    // This data dir's own queue: the runs it owns run their workflows and store steps here, and
    // nowhere else, so their examples never land in another host's store (workflows/run.ts).
    workers.push(await Worker.create({ ...base, taskQueue: q.store(o.deps.owner.id), ...workflowSource, activities: storeSide, ...storeSlots }));
  }
  if (serve('llm')) workers.push(await Worker.create({
    ...base,
    taskQueue: q.llm,
    activities: modelCalls,
    maxConcurrentActivityTaskExecutions: o.llmConcurrency ?? 8,
  }));
  if (serve('train')) {
    // One at a time by default: a fine-tune takes every core (or the GPU) it is given.
    const train = { ...base, activities: stages.compute, maxConcurrentActivityTaskExecutions: o.trainConcurrency ?? readEnv().trainConcurrency };
    workers.push(await Worker.create({ ...train, taskQueue: q.train }));
    // This host's own train queue: the evaluation of an adapter it trained comes here, where the adapter is (no shared filesystem needed).
    workers.push(await Worker.create({ ...train, taskQueue: q.trainHost(o.deps.owner.id) }));
  }
  const log = o.log ?? ((line: string) => console.log(`[worker] ${line}`));
  let markServing = () => undefined as void;
  const serving = build ? new Promise<void>((resolve) => (markServing = resolve)) : Promise.resolve();
  return {
    workers,
    queues: q,
    build,
    async run() {
      const upkeep = new AbortController();
      const upkeeping = build ? keepServing(o.connection, o.namespace, build, q, upkeep.signal, log, markServing) : Promise.resolve();
      const unwatch = watchBatches(o.deps.batcher);
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        unwatch();
        upkeep.abort();
        await upkeeping;
      }
    },
    serving: () => serving,
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
  };
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
