import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, patched, sleep, startChild, upsertMemo, upsertSearchAttributes, WorkflowIdReusePolicy, workflowInfo } from '@temporalio/workflow';
import { SA } from '../common/search-attributes.js';
import { domainLoop } from './domain.js';
import { startOptions } from './logic/start-options.js';
import { zeroTokens } from './logic/progress.js';
import type { RunStatus } from './messages.js';
import { ownerSteps, storeOwnerActivities } from './options.js';
import { isStoreQueue, queuesOf, STORE_QUEUE_MEMO } from '../common/queues.js';
import { type DomainStagesResult, runDomainStages, writeStagesReport } from './stages.js';
import { validRunConfig } from './validate.js';
import { calibrationStep } from './calibration.js';
import { runControls } from './run-controls.js';
import { failureText } from './logic/breaker.js';
import { preflightStep } from './preflight.js';

export interface RunResult {
  runId: string;
  status: RunStatus;
  failedDomains: { domain: string; error: string }[];
  /** The fine-tune/evaluate/ablation stages per domain, when the config turns them on. */
  stages?: DomainStagesResult[];
}

/** The patch that calibrates the Judge before generation (docs/architecture.md, "Versions with patched()"). */
export const JUDGE_CALIBRATION = 'judge-calibration';

/** The patch that checks keys, endpoints, files and the sandbox before anything else (docs/architecture.md, "Versions with patched()"). */
export const PREFLIGHT = 'preflight';

/** The patch that labels a run started without search attributes before validating it (docs/architecture.md, "Versions with patched()"). */
export const LABEL_BEFORE_VALIDATION = 'label-before-validation';

/** The patch that sends the run's store steps to the worker that owns its data (docs/architecture.md, "Store ownership"). */
export const STORE_OWNER = 'store-owner';

/**
 * The queue of the worker that owns the run's data. A run started again under its id (the CLI passes
 * the earlier execution's memo on) keeps its owner, whose ledger holds its finished episodes; a new
 * run asks any worker on `nanoflux`, and the one that answers owns it. Status and the memo name it.
 */
async function storeOwnerQueue(st: RunStatus): Promise<string> {
  const given = workflowInfo().memo?.[STORE_QUEUE_MEMO];
  if (typeof given === 'string' && isStoreQueue(given)) {
    st.store = { queue: given };
    return given;
  }
  const owner = await storeOwnerActivities.claimStore();
  const queue = queuesOf(workflowInfo().taskQueue).store(owner.id);
  st.store = { queue, host: owner.host, home: owner.home };
  upsertMemo({ [STORE_QUEUE_MEMO]: queue, store: `${owner.host}:${owner.home}` });
  return queue;
}

/**
 * A run started by `temporal workflow start` carries no search attributes until it upserts them,
 * which it did only after validation: one whose config failed validation was then found by neither
 * `nanoflux list` nor `nanoflux status`. Labelled from the raw input first (its runId when it has a
 * plausible one), it is listed as a failed run and `status <runId>` prints every problem. A run
 * started by `nanoflux run` has these attributes from its start and issues no command here.
 */
function labelBeforeValidation(input: unknown): void {
  if (workflowInfo().typedSearchAttributes.get(SA.kind) !== undefined) return;
  if (!patched(LABEL_BEFORE_VALIDATION)) return;
  const runId = typeof input === 'object' && input !== null ? (input as { runId?: unknown }).runId : undefined;
  upsertSearchAttributes([
    { key: SA.kind, value: 'run' },
    ...(typeof runId === 'string' && runId.length > 0 && runId.length <= 200 ? [{ key: SA.runId, value: runId }] : []),
  ]);
}

/**
 * Starts a domain loop, waiting while one of the same id is still running: a run reset or restarted
 * right after it was terminated finds its previous loops winding down their cancellation (seconds).
 * Only this failure path sleeps, so histories of runs that started their loops at once replay as before.
 */
async function startOnceFree<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 60) throw e;
      await sleep('2 seconds');
    }
  }
}

/**
 * One experiment: validates its input (a bad config fails here, non-retryably, listing every
 * problem), runs a domain loop per domain, enforces the run-wide token budget, exports the dataset.
 * Takes `unknown` because `temporal workflow start --input-file` hands over whatever the file holds.
 */
export async function nanofluxRun(input: unknown): Promise<RunResult> {
  labelBeforeValidation(input);
  const config = await validRunConfig(input);
  // Whatever id the run was started under (the CLI's nanoflux-<runId>, or any id given to `temporal workflow start`).
  const selfId = workflowInfo().workflowId;
  const st: RunStatus = {
    runId: config.runId,
    stage: 'generating',
    paused: false,
    domains: {},
    accepted: 0,
    episodes: 0,
    tokens: { ...zeroTokens(), total: 0 },
    cost: { ...zeroTokens(), total: 0 },
    budget: { ...config.budget },
  };
  const controls = runControls(config, st);

  upsertSearchAttributes([
    { key: SA.runId, value: config.runId },
    { key: SA.kind, value: 'run' },
    { key: SA.stage, value: 'generating' },
  ]);
  upsertMemo({ domains: config.domains.map((d) => d.name).join(', '), models: `A=${config.models.a.model} B=${config.models.b.model} judge=${config.models.judge.model}` });
  // Histories from before this patch ran every step on `nanoflux`, whichever worker took it.
  const ownerQueue = patched(STORE_OWNER) ? await storeOwnerQueue(st) : undefined;
  const owned = ownerSteps(ownerQueue);
  // Before anything is spent: a missing key or a refusing endpoint would fail every episode.
  // Histories from before this patch went straight on.
  if (config.preflight && patched(PREFLIGHT)) {
    const go = await preflightStep(config, st, { resumes: controls.resumes, stopRequested: controls.stopRequested, preflightLifted: controls.holdLifted }, ownerQueue);
    if (!go) return { runId: config.runId, status: st, failedDomains: [] };
  }
  // Before any episode: a Judge that cannot tell right from wrong must not gate a dataset. Histories
  // from before this patch started generating at once.
  if (config.judge.calibration !== false && patched(JUDGE_CALIBRATION)) {
    const go = await calibrationStep(config, st, controls);
    if (!go) return { runId: config.runId, status: st, failedDomains: [] };
  }

  // The workflow's clock: replay gives the same times, and reading it schedules nothing.
  const generationStarted = Date.now();
  const children = await Promise.all(
    config.domains.map((domain) =>
      startOnceFree(() => startChild(domainLoop, {
        ...startOptions({ kind: 'domain', runId: config.runId, domain: domain.name }),
        // On the data owner's queue: the episodes it starts, and their local store steps, follow it there.
        ...(ownerQueue === undefined ? {} : { taskQueue: ownerQueue }),
        // A pause or stop that arrived before the loops existed could not be forwarded: it travels in their input.
        args: [{ config, domain, parentWorkflowId: selfId, initial: { paused: st.paused, stop: controls.stopRequested() } }],
        // Starting the same run id again re-enters each domain loop: finished episodes are read back
        // from the ledger (never redone), so a completed run completes again at once.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: `${config.runId}: domain ${domain.name}, target ${config.generation.targetAccepted} accepted`,
      })),
    ),
  );
  const setStage = (stage: RunStatus['stage'], accepted?: number) => {
    st.stage = stage;
    upsertSearchAttributes([{ key: SA.stage, value: stage }, ...(accepted === undefined ? [] : [{ key: SA.accepted, value: accepted }])]);
  };
  const settled = await Promise.allSettled(children.map((c) => c.result()));
  const generation = { execution: workflowInfo().runId, wallSeconds: (Date.now() - generationStarted) / 1000 };
  const failedDomains: RunResult['failedDomains'] = [];
  settled.forEach((r, i) => {
    const name = config.domains[i]!.name;
    if (r.status === 'fulfilled') st.domains[name] = r.value;
    else failedDomains.push({ domain: name, error: failureText(r.reason) });
  });
  // Status says so (no command: replay-safe): a run whose domain failed must not read as a plain success.
  if (failedDomains.length > 0) st.failedDomains = failedDomains;
  controls.aggregate();

  st.stage = 'exporting';
  upsertSearchAttributes([{ key: SA.stage, value: 'exporting' }, { key: SA.accepted, value: st.accepted }]);
  // The calibration travels in the activity's input only (replay matches activities by type, not input):
  // the card and report.html say what the Judge measured; an empty list says it was not calibrated.
  const exported = await owned.dataset.exportDataset({
    runId: config.runId,
    domains: config.domains.map((d) => d.name),
    embedding: config.models.embedding,
    calibration: st.calibration ?? [],
    ...(st.judgeAccepted ? { judgeAccepted: st.judgeAccepted } : {}),
  });
  st.dataset = { path: exported.path, examples: exported.examples };
  if (!config.finetune && !config.evaluate) {
    // This order (search attributes, then memo) is what histories of generate-only runs hold: replay depends on it.
    setStage('done', exported.examples);
    upsertMemo({ dataset: exported.path });
    return { runId: config.runId, status: st, failedDomains };
  }
  upsertMemo({ dataset: exported.path });

  setStage('training');
  const stages = await runDomainStages(config, { variants: true, ablation: Boolean(config.ablation) }, ownerQueue);
  failedDomains.push(...stages.failed.map((f) => ({ domain: f.domain, error: `stages: ${f.error}` })));
  if (failedDomains.length > 0) st.failedDomains = failedDomains;
  st.variants = stages.results.flatMap((r) =>
    r.outcomes.map((o) => ({ domain: r.domain, variant: o.variant, accuracy: o.result?.accuracy ?? null, n: o.result?.n ?? 0, error: o.error ?? null })),
  );
  if (config.evaluate) {
    setStage('reporting');
    const report = await writeStagesReport(config, stages.results, generation, ownerQueue);
    st.report = report.path;
    upsertMemo({ report: report.path });
  }
  setStage('done', exported.examples);
  return { runId: config.runId, status: st, failedDomains, stages: stages.results };
}
