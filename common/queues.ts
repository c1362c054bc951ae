/** One task queue per kind of resource, so limits hold across every worker (docs/architecture.md, "Workflows and task queues"). */
export const TaskQueue = {
  /** Workflows and light activities (novelty, storage, export). */
  main: 'nanoflux',
  /** Model calls: rate-limited, concurrency-bounded. */
  llm: 'nanoflux-llm',
  /** Fine-tunes and evaluation batches: long, heavy, low concurrency; may run on a GPU host of its own. */
  train: 'nanoflux-train',
} as const;
