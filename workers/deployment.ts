import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { sleep } from '../activities/kit/sleep.js';

/**
 * Temporal Worker Versioning (docs/architecture.md, "Queues, prefixes and builds"). Every worker of
 * a deployment (one task-queue prefix) polls as a version of it: its build id (workers/build-id.ts).
 * The server gives tasks to the current version's workers only, so a run is never served by a worker
 * of another build, and workflows move to a new current build on their next task (AUTO_UPGRADE: the
 * workflows stay replay-safe across builds with patched()).
 *
 * Which build is current: a worker makes its own build current when the deployment has none, or when
 * the current build's workers are all gone (none has polled a queue of the deployment for
 * LIVE_POLLER_S). So an upgrade is: stop the old workers, start the new ones (or start them first:
 * they take over once the old ones are gone); an old worker restarted by mistake never takes the
 * deployment back from running new ones. `temporal worker deployment set-current-version` decides
 * by hand.
 */
export interface Build {
  /** The deployment: the task-queue prefix. */
  deploymentName: string;
  buildId: string;
}

/** temporal.api.enums.v1.TaskQueueType, by value: @temporalio/proto costs every CLI command's start-up (bench/README.md, CLI). */
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;
/** gRPC status 5: what the server answers about a deployment or version it has not seen a poll of. */
const GRPC_NOT_FOUND = 5;
/** A poller that has not polled for this long is gone (a live worker long-polls at least once a minute). */
export const LIVE_POLLER_S = 120;
/** How often a worker looks at the deployment's current build once it has looked the first time. */
const CHECK_EVERY_MS = 15_000;
/** While the server has not yet seen this worker's first poll (it creates the version then). */
const FIRST_POLL_RETRY_MS = 250;

export function deploymentOptions(build: Build | null): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  if (!build) return {};
  return { workerDeploymentOptions: { version: { deploymentName: build.deploymentName, buildId: build.buildId }, useWorkerVersioning: true, defaultVersioningBehavior: 'AUTO_UPGRADE' } };
}

/** Whether a worker of build `mine` makes it current: there is none, or the current one has no live worker. */
export function shouldPromote(current: string | null, mine: string, liveBuilds: ReadonlySet<string>): boolean {
  if (current === mine) return false;
  return current === null || !liveBuilds.has(current);
}

/** The deployment's current build id; null when it has none (or does not exist yet). */
export async function currentBuild(connection: Service, namespace: string, deploymentName: string): Promise<string | null> {
  try {
    const r = await connection.workflowService.describeWorkerDeployment({ namespace, deploymentName });
    return r.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || null;
  } catch (e) {
    if ((e as { code?: number }).code === GRPC_NOT_FOUND) return null;
    throw e;
  }
}

/** A NativeConnection (workers) or a Client (the CLI): both carry the workflow service. */
type Service = Pick<NativeConnection, 'workflowService'>;

export interface QueuePoller {
  queue: string;
  identity: string;
  /** Null for a worker without versioning (an older NanoFlux, or NANOFLUX_WORKER_VERSIONING=0). */
  buildId: string | null;
  /** Seconds since its last poll. */
  idleSeconds: number;
}

/** The workers polling the deployment's shared queues (workflow pollers of main, activity pollers of llm and train). */
export async function queuePollers(connection: Service, namespace: string, queues: { main: string; llm: string; train: string }): Promise<QueuePoller[]> {
  const asked = [
    { queue: queues.main, type: TASK_QUEUE_TYPE_WORKFLOW },
    { queue: queues.llm, type: TASK_QUEUE_TYPE_ACTIVITY },
    { queue: queues.train, type: TASK_QUEUE_TYPE_ACTIVITY },
  ];
  const now = Date.now() / 1000;
  const answers = await Promise.all(asked.map((a) => connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: a.queue }, taskQueueType: a.type })));
  return answers.flatMap((r, i) =>
    (r.pollers ?? []).map((p) => ({
      queue: asked[i]!.queue,
      identity: p.identity ?? '',
      buildId: p.deploymentOptions?.buildId || null,
      idleSeconds: Math.max(0, now - Number(p.lastAccessTime?.seconds ?? 0)),
    })),
  );
}

/**
 * Keeps the deployment served while this worker set runs: makes this build current when shouldPromote
 * says so, and says once when this worker waits behind another build. Ends with `signal`.
 */
export async function keepServing(
  connection: NativeConnection,
  namespace: string,
  build: Build,
  queues: { main: string; llm: string; train: string },
  signal: AbortSignal,
  log: (line: string) => void,
  onCurrent: () => void = () => undefined,
): Promise<void> {
  let waitingSaid: string | null = null;
  let seenOnce = false;
  while (!signal.aborted) {
    let delay = CHECK_EVERY_MS;
    try {
      const current = await currentBuild(connection, namespace, build.deploymentName);
      const live = new Set((await queuePollers(connection, namespace, queues)).filter((p) => p.idleSeconds < LIVE_POLLER_S && p.buildId).map((p) => p.buildId!));
      if (shouldPromote(current, build.buildId, live)) {
        await connection.workflowService.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: build.deploymentName, buildId: build.buildId, identity: `nanoflux-worker ${build.buildId}` });
        log(`build ${build.buildId} is now the current version of ${build.deploymentName}${current ? ` (build ${current} has no live worker)` : ''}`);
        onCurrent();
      } else if (current === build.buildId) {
        onCurrent();
      } else if (current !== build.buildId && current !== waitingSaid) {
        waitingSaid = current;
        log(`build ${current} serves ${build.deploymentName} while its workers run: this worker (build ${build.buildId}) waits; stop them to upgrade (nanoflux status shows both)`);
      }
      seenOnce = true;
    } catch (e) {
      // Before this worker's first poll reaches the server its version does not exist: asked again shortly.
      if ((e as { code?: number }).code === GRPC_NOT_FOUND && !seenOnce) delay = FIRST_POLL_RETRY_MS;
      else log(`could not check the current build of ${build.deploymentName}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await sleep(delay, signal);
  }
}

/** The workers of a deployment by build, as `nanoflux status` shows them: which build is served, and who waits. */
export interface DeploymentWorkers {
  deployment: string;
  current: string | null;
  builds: { buildId: string | null; workers: number; current: boolean }[];
}

export async function deploymentWorkers(service: Service, namespace: string, queues: { main: string; llm: string; train: string }): Promise<DeploymentWorkers> {
  const [current, pollers] = await Promise.all([currentBuild(service, namespace, queues.main), queuePollers(service, namespace, queues)]);
  const byBuild = new Map<string | null, Set<string>>();
  for (const p of pollers.filter((p) => p.idleSeconds < LIVE_POLLER_S)) byBuild.set(p.buildId, (byBuild.get(p.buildId) ?? new Set()).add(p.identity));
  const builds = [...byBuild].map(([buildId, ids]) => ({ buildId, workers: ids.size, current: buildId !== null && buildId === current }));
  return { deployment: queues.main, current, builds: builds.sort((a, b) => Number(b.current) - Number(a.current)) };
}

/** One line: how many workers of each build poll, the current one first, the others said to wait. */
export function describeBuilds(d: DeploymentWorkers): string {
  // A run started before an upgrade is on the queues of its own prefix (`nanoflux` before prefixes): say how to serve it.
  if (d.builds.length === 0) return `no worker polls ${d.deployment}: start one with NANOFLUX_TASK_QUEUE_PREFIX=${d.deployment} npm run worker`;
  return d.builds
    .map((b) =>
      b.current ? `${b.workers} of build ${b.buildId} (current)`
      : b.buildId === null ? `${b.workers} unversioned${d.current ? ' (serves nothing while a build is current)' : ''}`
      : `${b.workers} of build ${b.buildId} (another build: ${d.current ? 'waits while the current build has workers' : 'not current'})`,
    )
    .join(' · ');
}
