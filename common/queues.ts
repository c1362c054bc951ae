/** One task queue per kind of resource, so limits hold across every worker (docs/architecture.md, "Workflows and task queues"). */
export const TaskQueue = {
  /** Workflows and light activities (novelty, storage, export). */
  main: 'nanoflux',
  /** Model calls: rate-limited, concurrency-bounded. */
  llm: 'nanoflux-llm',
  /** Fine-tunes and evaluation batches: long, heavy, low concurrency; may run on a GPU host of its own. */
  train: 'nanoflux-train',
} as const;

/**
 * The queue of the worker that owns a data dir (its embedded store, its ledger, its runs/ files):
 * a run's workflows and its store, export and report steps run there, so they never write into
 * another host's store (activities/store/owner.ts; docs/architecture.md, "Store ownership").
 */
export const STORE_QUEUE_PREFIX = 'nanoflux-store-';
export const storeQueue = (ownerId: string): string => `${STORE_QUEUE_PREFIX}${ownerId}`;
export const isStoreQueue = (queue: string): boolean => queue.startsWith(STORE_QUEUE_PREFIX);

/** The run's memo key naming its data owner's queue: set by the run, given back by `nanoflux run` when the same run id starts again, read by `nanoflux ablate`. */
export const STORE_QUEUE_MEMO = 'storeQueue';
