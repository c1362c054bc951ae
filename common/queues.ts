/**
 * The task queues of one NanoFlux deployment, all named from its prefix (NANOFLUX_TASK_QUEUE_PREFIX;
 * common/task-queues.ts for the process's own): one queue per kind of resource, so limits hold
 * across every worker (docs/architecture.md, "Workflows and task queues"), and nothing shared with a
 * deployment of another prefix (another checkout on the same Temporal server). Pure, so workflows
 * use it too: a workflow finds its deployment's queues from the queue it runs on (`queuesOf`).
 */
export interface TaskQueues {
  /** Workflows and light activities (claiming a run's store). Its name is the prefix itself. */
  main: string;
  /** Model calls: rate-limited, concurrency-bounded. */
  llm: string;
  /** Fine-tunes and evaluation batches: long, heavy, low concurrency; may run on a GPU host of its own. */
  train: string;
  /**
   * The queue of the worker that owns a data dir (its embedded store, its ledger, its runs/ files):
   * a run's workflows and its store, export and report steps run there, so they never write into
   * another host's store (activities/store/owner.ts; docs/architecture.md, "Store ownership").
   */
  store(ownerId: string): string;
  /**
   * The queue of one host's train worker: a fine-tune's adapter stays in that host's data dir, so its
   * evaluation batches go there (workflows/stages.ts); other hosts need no shared filesystem.
   */
  trainHost(ownerId: string): string;
}

/** The queue roles a worker may serve (NANOFLUX_QUEUES); a worker serving `main` also serves its store queue, one serving `train` its train-host queue. */
export const QUEUE_ROLES = ['main', 'llm', 'train'] as const;
export type QueueRole = (typeof QUEUE_ROLES)[number];

/** The prefix of deployments from before the prefix existed: their queues were nanoflux, nanoflux-llm, nanoflux-train. */
export const LEGACY_PREFIX = 'nanoflux';

export function taskQueues(prefix: string): TaskQueues {
  return {
    main: prefix,
    llm: `${prefix}-llm`,
    train: `${prefix}-train`,
    store: (ownerId) => `${prefix}-store-${ownerId}`,
    trainHost: (ownerId) => `${prefix}-train-host-${ownerId}`,
  };
}

const STORE_QUEUE = /^(.+)-store-[0-9a-f]{12}$/;
export const isStoreQueue = (queue: string): boolean => STORE_QUEUE.test(queue);

const ACTIVITY_ONLY_QUEUE = /-(llm|train|train-host-[0-9a-f]{12})$/;
/** The queues whose workers run activities only (model calls, fine-tunes): no workflow is registered there, by design. */
export const isActivityOnlyQueue = (queue: string): boolean => ACTIVITY_ONLY_QUEUE.test(queue);

/** A deployment's queues from the queue a workflow runs on: its main queue, or one of its store queues. */
export function queuesOf(workflowQueue: string): TaskQueues {
  return taskQueues(STORE_QUEUE.exec(workflowQueue)?.[1] ?? workflowQueue);
}

/** A prefix names queues: letters, digits, `.`, `_`, `-`; and it must not read as a store queue (its workflows would take the wrong deployment's queues). */
export function prefixProblem(prefix: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(prefix)) return 'letters, digits, ".", "_" and "-" only, starting with a letter or digit, at most 100';
  if (isStoreQueue(prefix)) return 'must not end in -store-<12 hex digits> (the form of a store queue)';
  return null;
}

/** The run's memo key naming its data owner's queue: set by the run, given back by `nanoflux run` when the same run id starts again, read by `nanoflux ablate`. */
export const STORE_QUEUE_MEMO = 'storeQueue';
