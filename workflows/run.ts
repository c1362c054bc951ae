import {
  ApplicationFailure,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../common/errors.js';
import { SA } from '../common/search-attributes.js';
import { domainLoop } from './domain.js';
import { domainWorkflowId } from './logic/ids.js';
import { startOptions } from './logic/start-options.js';
import { addTokens, type Budget, budgetExceeded, type StopReason, totalTokens, zeroTokens } from './logic/progress.js';
import {
  domainProgressSignal,
  type DomainStatus,
  pauseSignal,
  resumeSignal,
  type RunStatus,
  setBudgetSignal,
  setBudgetUpdate,
  setConcurrencySignal,
  setConcurrencyUpdate,
  setTargetSignal,
  setTargetUpdate,
  validateBudget,
  validateConcurrency,
  validateTarget,
  statusQuery,
  stopSignal,
} from './messages.js';
import { datasetActivities } from './options.js';
import { type DomainStagesResult, runDomainStages, writeStagesReport } from './stages.js';
import { validRunConfig } from './validate.js';

export interface RunResult {
  runId: string;
  status: RunStatus;
  failedDomains: { domain: string; error: string }[];
  /** The fine-tune/evaluate/ablation stages per domain, when the config turns them on. */
  stages?: DomainStagesResult[];
}

/** The patch that forwards a changed budget to the domain loops (docs/architecture.md, "Versions with patched()"). */
export const BUDGET_TO_DOMAINS = 'budget-to-domains';

/**
 * One experiment: validates its input (a bad config fails here, non-retryably, listing every
 * problem), runs a domain loop per domain, enforces the run-wide token budget, exports the dataset.
 * Takes `unknown` because `temporal workflow start --input-file` hands over whatever the file holds.
 */
export async function nanofluxRun(input: unknown): Promise<RunResult> {
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
  const childIds = config.domains.map((d) => domainWorkflowId(config.runId, d.name));
  const forward = async (fn: (id: string) => Promise<void>) => {
    // A finished domain loop can no longer take signals; that is not an error here.
    await Promise.all(childIds.map((id) => fn(id).catch(() => undefined)));
  };

  setHandler(statusQuery, () => st);
  // Paused while an operator paused it or the budget is spent: `resume` lifts the first, a raised budget the second.
  const pausedBy: { user: boolean; budget?: ReturnType<typeof budgetExceeded> } = { user: false };
  const applyPause = async () => {
    const paused = pausedBy.user || pausedBy.budget !== undefined;
    st.pausedBy = { user: pausedBy.user, ...(pausedBy.budget ? { budget: pausedBy.budget } : {}) };
    if (paused === st.paused) return;
    st.paused = paused;
    if (st.stage === 'generating' || st.stage === 'paused') {
      st.stage = paused ? 'paused' : 'generating';
      upsertSearchAttributes([{ key: SA.stage, value: st.stage }]);
    }
    await forward((id) => getExternalWorkflowHandle(id).signal(paused ? pauseSignal : resumeSignal));
  };
  const checkBudget = async () => {
    pausedBy.budget = budgetExceeded(Object.values(st.domains), st.budget);
    await applyPause();
  };
  const setBudget = async (b: Budget) => {
    st.budget = { ...st.budget, ...b };
    // The domain loops report spend of 1% of the budget at once (spendIsUrgent): they need the new
    // one. Histories from before this patch sent them nothing here.
    if (patched(BUDGET_TO_DOMAINS)) await forward((id) => getExternalWorkflowHandle(id).signal(setBudgetSignal, st.budget));
    await checkBudget();
    return st.budget;
  };
  let stopRequested: StopReason | undefined;
  setHandler(pauseSignal, () => ((pausedBy.user = true), applyPause()));
  setHandler(resumeSignal, () => ((pausedBy.user = false), applyPause()));
  setHandler(setBudgetUpdate, setBudget, { validator: validateBudget });
  setHandler(setBudgetSignal, async (b) => {
    try {
      validateBudget(b);
    } catch {
      return; // a signal cannot be refused; a bad one changes nothing
    }
    await setBudget(b);
  });
  setHandler(
    setTargetUpdate,
    async ({ targetAccepted, domain }) => {
      const names = domain ? [domain] : config.domains.map((d) => d.name);
      await Promise.all(names.map((n) => getExternalWorkflowHandle(domainWorkflowId(config.runId, n)).signal(setTargetSignal, { targetAccepted }).catch(() => undefined)));
      for (const n of names) if (st.domains[n]) st.domains[n]!.targetAccepted = targetAccepted;
      return { targets: Object.fromEntries(names.map((n) => [n, targetAccepted])) };
    },
    {
      validator: (t) => {
        validateTarget(t);
        if (t.domain !== undefined && !config.domains.some((d) => d.name === t.domain)) {
          throw ApplicationFailure.nonRetryable(`no domain "${t.domain}" in run ${config.runId}; domains: ${config.domains.map((d) => d.name).join(', ')}`, ErrorType.InvalidArgument);
        }
      },
    },
  );
  setHandler(stopSignal, async (arg) => {
    stopRequested ??= arg?.reason ?? 'stopped';
    await forward((id) => getExternalWorkflowHandle(id).signal(stopSignal, { reason: arg?.reason ?? 'stopped' }));
  });
  setHandler(
    setConcurrencyUpdate,
    async ({ concurrency }) => {
      // Signals, not updates, to the children: an update per child would make this handler wait on every loop.
      for (const d of config.domains) if (st.domains[d.name]) st.domains[d.name]!.concurrency = concurrency;
      await forward((id) => getExternalWorkflowHandle(id).signal(setConcurrencySignal, { concurrency }));
      return { concurrency };
    },
    { validator: validateConcurrency },
  );
  const aggregate = () => {
    const all = Object.values(st.domains);
    st.accepted = all.reduce((n, x) => n + x.accepted, 0);
    st.episodes = all.reduce((n, x) => n + x.episodesFinished, 0);
    const t = all.reduce((acc, x) => addTokens(acc, x.tokens), zeroTokens());
    st.tokens = { ...t, total: totalTokens(t) };
    const c = all.reduce((acc, x) => addTokens(acc, x.cost ?? zeroTokens()), zeroTokens());
    st.cost = { ...c, total: totalTokens(c) };
  };
  setHandler(domainProgressSignal, async (d: DomainStatus) => {
    if ((st.domains[d.domain]?.seq ?? -1) >= d.seq) return; // an older report overtaken by a newer one
    st.domains[d.domain] = d;
    aggregate();
    // Reaching the budget pauses: in-flight episodes finish and are kept, and a raised budget resumes.
    if (!pausedBy.budget && budgetExceeded(Object.values(st.domains), st.budget)) await checkBudget();
  });

  upsertSearchAttributes([
    { key: SA.runId, value: config.runId },
    { key: SA.kind, value: 'run' },
    { key: SA.stage, value: 'generating' },
  ]);
  upsertMemo({ domains: config.domains.map((d) => d.name).join(', '), models: `A=${config.models.a.model} B=${config.models.b.model} judge=${config.models.judge.model}` });

  const children = await Promise.all(
    config.domains.map((domain) =>
      startChild(domainLoop, {
        ...startOptions({ kind: 'domain', runId: config.runId, domain: domain.name }),
        // A pause or stop that arrived before the loops existed could not be forwarded: it travels in their input.
        args: [{ config, domain, parentWorkflowId: selfId, initial: { paused: st.paused, stop: stopRequested } }],
        // Starting the same run id again re-enters each domain loop: finished episodes are read back
        // from the ledger (never redone), so a completed run completes again at once.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: `${config.runId}: domain ${domain.name}, target ${config.generation.targetAccepted} accepted`,
      }),
    ),
  );
  const setStage = (stage: RunStatus['stage'], accepted?: number) => {
    st.stage = stage;
    upsertSearchAttributes([{ key: SA.stage, value: stage }, ...(accepted === undefined ? [] : [{ key: SA.accepted, value: accepted }])]);
  };
  const settled = await Promise.allSettled(children.map((c) => c.result()));
  const failedDomains: RunResult['failedDomains'] = [];
  settled.forEach((r, i) => {
    const name = config.domains[i]!.name;
    if (r.status === 'fulfilled') st.domains[name] = r.value;
    else failedDomains.push({ domain: name, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
  });
  aggregate();

  st.stage = 'exporting';
  upsertSearchAttributes([{ key: SA.stage, value: 'exporting' }, { key: SA.accepted, value: st.accepted }]);
  const exported = await datasetActivities.exportDataset({ runId: config.runId, domains: config.domains.map((d) => d.name), embedding: config.models.embedding });
  st.dataset = { path: exported.path, examples: exported.examples };
  if (!config.finetune && !config.evaluate) {
    // This order (search attributes, then memo) is what histories of generate-only runs hold: replay depends on it.
    setStage('done', exported.examples);
    upsertMemo({ dataset: exported.path });
    return { runId: config.runId, status: st, failedDomains };
  }
  upsertMemo({ dataset: exported.path });

  setStage('training');
  const stages = await runDomainStages(config, { variants: true, ablation: Boolean(config.ablation) });
  failedDomains.push(...stages.failed.map((f) => ({ domain: f.domain, error: `stages: ${f.error}` })));
  st.variants = stages.results.flatMap((r) =>
    r.outcomes.map((o) => ({ domain: r.domain, variant: o.variant, accuracy: o.result?.accuracy ?? null, n: o.result?.n ?? 0, error: o.error ?? null })),
  );
  if (config.evaluate) {
    setStage('reporting');
    const report = await writeStagesReport(config, stages.results);
    st.report = report.path;
    upsertMemo({ report: report.path });
  }
  setStage('done', exported.examples);
  return { runId: config.runId, status: st, failedDomains, stages: stages.results };
}
