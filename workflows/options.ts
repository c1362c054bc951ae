import { type ActivityInterfaceFor, type ActivityOptions, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import { ErrorType, NON_RETRYABLE } from '../common/errors.js';
import { queuesOf, type QueueRole } from '../common/queues.js';
import { PREFLIGHT_ATTEMPTS } from '../common/contracts/preflight.js';
import type { DatasetActivities, GameActivities, StageActivities, StoreActivities } from '../activities/index.js';

/**
 * Activities on one of the deployment's queues (common/queues.ts). The queue is found when an
 * activity is scheduled, from the queue this workflow runs on (its main queue or a store queue):
 * workflow code reads no environment, so this is how it knows NANOFLUX_TASK_QUEUE_PREFIX, and a
 * history replays onto the queues it was written with.
 */
function onQueue<A extends object>(role: QueueRole, options: ActivityOptions): ActivityInterfaceFor<A> {
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get: (_, name) => (proxyActivities<A>({ ...options, taskQueue: queuesOf(workflowInfo().taskQueue)[role] }) as Record<string | symbol, unknown>)[name],
  });
}

// Each proxy names exactly the activities its group calls, so a workflow cannot schedule an activity
// on a queue whose workers do not register it.
type EpisodeStoreSteps = Pick<StoreActivities, 'checkNovelty' | 'storeExample' | 'recordEpisode' | 'loadEpisodeSummary'>;
type BulkStoreSteps = Pick<StoreActivities, 'importExamples' | 'ensureDecontamination'>;
type StageFileSteps = Pick<StageActivities, 'prepareDomainStage' | 'cutAblation' | 'scoreVariant' | 'writeRunReport' | 'shipTrainingFiles' | 'shipEvalBatch' | 'keepFineTune' | 'keepPredictions'>;

/**
 * One options object per activity group, each with explicit timeouts and retries
 * (docs/architecture.md, "Activity groups"). Model calls get a long schedule-to-close because a 429's Retry-After can
 * be minutes and `nextRetryDelay` is not capped by maximumInterval (temporal#6063), and because the
 * clock runs while a call waits in the queue: a worker gone over a weekend must not fail the episodes
 * it left scheduled. Twelve attempts bound the retries, not the calendar.
 */
const MODEL_CALL_RETRY: ActivityOptions['retry'] = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
  maximumAttempts: 12,
  // The chat layer already re-asked on schema failures (maxSchemaRetries); a further retry would only spend tokens.
  nonRetryableErrorTypes: [...NON_RETRYABLE, ErrorType.ModelOutputInvalid],
};

export const modelActivities = onQueue<Pick<GameActivities, 'attack' | 'defend' | 'judge'>>('llm', {
  // The embedded model runs on CPU and queues behind other generations in the same process.
  startToCloseTimeout: '10 minutes',
  // Activities heartbeat while they run (activities/kit/boundary.ts): a dead worker's call is retried after 20 s, not 10 min.
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: MODEL_CALL_RETRY,
});

/**
 * Model calls of a `tier: "batch"` ref (activities/game/models/batcher.ts): on the queue of the
 * workflow that schedules them, the worker that owns the run's data dir, where the batcher keeps its
 * ledger, so a retried call finds the request its earlier attempt sent. A call waits for its Batch API
 * job (24 h at most, per request: the Judge's tool rounds are a job each); the heartbeat still says
 * within 20 s that its worker died, and the retry picks up the same job.
 */
const BATCH_MODEL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '100 hours',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '14 days',
  retry: MODEL_CALL_RETRY,
};
const batchModelActivities = proxyActivities<Pick<GameActivities, 'attack' | 'defend' | 'judge'>>(BATCH_MODEL_OPTIONS);

/** The batch tier's end-of-episode reckoning (activities/game/activities.ts supersededBatchSpend): a ledger read on the owner. */
export const batchLedgerActivities = proxyActivities<Pick<GameActivities, 'supersededBatchSpend'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The model calls of a role's ref: through the Batch API on the data dir's worker, or on the model queue. */
export const modelCallsFor = (ref: { tier?: string }) => (ref.tier === 'batch' ? batchModelActivities : modelActivities);

/**
 * The store's steps — novelty, storage, ledger, the export, decontamination, imports, the stage
 * files and the report — name no task queue: they go to the queue of the workflow that schedules
 * them, which for a run is the queue of the worker that owns its data dir (`nanoflux-store-<id>`,
 * see storeOwnerActivities), and for a workflow started on `nanoflux` (a replayed older run, the
 * preflight check) is `nanoflux`, as before. A run's examples never land in another host's store.
 */

/** Which worker owns the run's data: asked once, of any worker on `nanoflux`, before the run starts anything on that worker's queue. */
export const storeOwnerActivities = onQueue<Pick<StoreActivities, 'claimStore'>>('main', {
  startToCloseTimeout: '1 minute',
  // Waiting for a worker to appear is fine (no schedule-to-start limit); a claim itself is instant.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Novelty, storage, ledger: local and idempotent, so retried freely but briefly. */
export const storeActivities = proxyActivities<EpisodeStoreSteps>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The export: rewrites the run's files whole, so retried like the store steps. */
const DATASET_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * The same store steps as local activities: run by the worker that runs the episode's workflow task,
 * inside that task, with no server round trip each (bench/README.md, orchestration overhead). Only
 * the result is recorded (a marker), not the transcript sent to the ledger. Retries beyond
 * `localRetryThreshold` wait on a durable timer, so a 429's Retry-After on the embedding call is not
 * spent holding a workflow task open.
 */
export const localStoreActivities = proxyLocalActivities<Pick<EpisodeStoreSteps, 'checkNovelty' | 'storeExample' | 'recordEpisode'>>({
  // Above the rate limiter's longest in-process wait for an embedding slot (2 min) plus the call's own timeout (1 min).
  startToCloseTimeout: '4 minutes',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * The executed reference check: a program run in the sandbox of the worker that runs the episode
 * (no queue round trip; model-written code never leaves the sandbox's limits). Local, like the store
 * steps; a sandbox that fails to start is retried a few times, then the episode fails.
 */
export const checkActivities = proxyLocalActivities<Pick<GameActivities, 'verifyReference'>>({
  // Pyodide's start-up (up to 30 s) plus the program's own 3 s.
  startToCloseTimeout: '2 minutes',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The Judge's calibration: tens of Judge calls before the run generates, on the model queue; heartbeats show its progress. */
export const calibrationActivities = onQueue<Pick<GameActivities, 'calibrateJudge'>>('llm', {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Embedding a benchmark's test set takes minutes on CPU: heartbeats show it is alive and carry the
 * job's cursor (activities/store/embeddings/job.ts), from which a retry resumes.
 */
export const bulkActivities = proxyActivities<BulkStoreSteps>({
  startToCloseTimeout: '2 hours',
  // The boundary beats every 3 s whatever the batch in flight is doing (a slow request, a halving), so
  // 20 s is safe and a killed worker's job resumes after 20 s, not 2 minutes. It also sets the SDK's
  // throttle (0.8 of it): the server's cursor is at most ~16 s behind the job.
  heartbeatTimeout: '20 seconds',
  // Twelve attempts (~15 min of backoff): a timed-out batch is abandoned by the client, not by the
  // server, which goes on embedding it. Against a real llama-server on CPU, the batches abandoned on
  // the way down to size 1 kept it busy for four attempts before the fifth found it free and went on.
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Fine-tunes: hours to days. The activity heartbeats every few seconds, so a dead worker is noticed
 * in 30 s and the retry resumes from the last checkpoint (local) or the existing job (openai).
 */
export const fineTuneActivities = onQueue<Pick<StageActivities, 'fineTune'>>('train', {
  startToCloseTimeout: '72 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** One evaluation batch: a model load plus generation; a 429 from an endpoint is retried after its Retry-After. */
const EVAL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE },
};
export const evalActivities = onQueue<Pick<StageActivities, 'evaluateBatch'>>('train', EVAL_OPTIONS);

/**
 * Evaluation on the host that holds a fine-tune's outputs (its own train queue, common/queues.ts
 * trainHostQueue). If that host is gone, the batch waits for it, durably, as store steps wait for
 * their owner: its adapter is nowhere else.
 */
export const evalActivitiesOn = (queue: string) => proxyActivities<Pick<StageActivities, 'evaluateBatch'>>({ ...EVAL_OPTIONS, taskQueue: queue });

/** Stage bookkeeping beside the run's data: preparing files, scoring, the report. */
const STAGE_FILE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
};
export const stageFileActivities = proxyActivities<StageFileSteps>(STAGE_FILE_OPTIONS);

/**
 * Preflight, each half on the worker that will do the work (its keys, its endpoints, its files, its
 * sandbox). Transient failures are retried by the activities themselves up to their third attempt
 * (activities/game/preflight.ts), then reported as problems; the local model's first load and a slow
 * server's first answer take minutes on CPU.
 */
const preflightRetry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: PREFLIGHT_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE };
export const modelPreflightActivities = onQueue<Pick<GameActivities, 'preflightModels'>>('llm', {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: preflightRetry,
});
const STORE_PREFLIGHT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: preflightRetry,
};

/**
 * The store-side steps the run workflow schedules itself, on the queue of the worker that owns the
 * run's data (`queue`; undefined for a run from before store ownership: the run's own queue). The
 * workflows it starts there (domain loops, stages) reach the same worker without naming it.
 */
export function ownerSteps(queue: string | undefined) {
  const on = queue === undefined ? {} : { taskQueue: queue };
  return {
    dataset: proxyActivities<DatasetActivities>({ ...DATASET_OPTIONS, ...on }),
    stageFiles: proxyActivities<StageFileSteps>({ ...STAGE_FILE_OPTIONS, ...on }),
    storePreflight: proxyActivities<Pick<StoreActivities, 'preflightStore'>>({ ...STORE_PREFLIGHT_OPTIONS, ...on }),
  };
}
