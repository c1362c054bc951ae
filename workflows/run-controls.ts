import { ApplicationFailure, getExternalWorkflowHandle, patched, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunConfig } from '../common/config.js';
import { ErrorType } from '../common/errors.js';
import { SA } from '../common/search-attributes.js';
import { domainWorkflowId } from './logic/ids.js';
import { topFailureReasons } from './logic/breaker.js';
import { sumBilled } from './logic/cost.js';
import type { BilledTokens } from '../common/contracts/index.js';
import { addTokens, type Budget, budgetExceeded, type StopReason, totalTokens, zeroTokens } from './logic/progress.js';
import {
  acceptJudgeSignal,
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
  statusQuery,
  stopSignal,
  validateBudget,
  validateConcurrency,
  validateTarget,
} from './messages.js';

/** The patch that forwards a changed budget to the domain loops (docs/architecture.md, "Versions with patched()"). */
export const BUDGET_TO_DOMAINS = 'budget-to-domains';

/**
 * The run's message handlers: status, pause and resume, budget, target, concurrency, stop, the
 * domain loops' progress, and the operator's word to go on with a Judge that failed calibration.
 * Most are forwarded to the domain loops; a loop that has finished can no longer take them.
 */
export function runControls(config: RunConfig, st: RunStatus) {
  const childIds = config.domains.map((d) => domainWorkflowId(config.runId, d.name));
  const forward = async (fn: (id: string) => Promise<void>) => {
    // A finished domain loop can no longer take signals; that is not an error here.
    await Promise.all(childIds.map((id) => fn(id).catch(() => undefined)));
  };

  setHandler(statusQuery, () => st);
  // Paused while an operator paused it or the budget is spent: `resume` lifts the first, a raised budget the second.
  const pausedBy: { user: boolean; budget?: ReturnType<typeof budgetExceeded> } = { user: false };
  const applyPause = async () => {
    // A Judge that failed calibration, or preflight's problems, hold the run before any domain loop
    // exists: only --accept-judge, a resume that passes preflight (or stop) lift that; an operator's
    // pause or resume meanwhile is remembered.
    const { calibration, preflight } = st.pausedBy ?? {};
    if (calibration !== undefined || preflight !== undefined) {
      st.pausedBy = { user: pausedBy.user, ...(calibration !== undefined ? { calibration } : {}), ...(preflight !== undefined ? { preflight } : {}) };
      return;
    }
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
  let resumes = 0;
  setHandler(resumeSignal, async () => {
    resumes += 1;
    pausedBy.user = false;
    await applyPause();
    // A domain held by its circuit breaker is paused on its own: resume closes the breaker, unless the
    // budget holds the run (a raised budget resumes; then resume again).
    const tripped = config.domains.filter((d) => st.domains[d.name]?.breaker !== undefined);
    if (tripped.length > 0 && !pausedBy.budget) {
      await Promise.all(tripped.map((d) => getExternalWorkflowHandle(domainWorkflowId(config.runId, d.name)).signal(resumeSignal).catch(() => undefined)));
    }
  });
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
    const billed = all.reduce<BilledTokens | undefined>((acc, x) => sumBilled(acc, x.billed), undefined);
    if (billed) st.billed = billed;
    const failures = topFailureReasons(all);
    if (failures.length > 0) st.failures = failures;
  };
  setHandler(domainProgressSignal, async (d: DomainStatus) => {
    if ((st.domains[d.domain]?.seq ?? -1) >= d.seq) return; // an older report overtaken by a newer one
    st.domains[d.domain] = d;
    aggregate();
    // Reaching the budget pauses: in-flight episodes finish and are kept, and a raised budget resumes.
    if (!pausedBy.budget && budgetExceeded(Object.values(st.domains), st.budget)) await checkBudget();
  });
  let judgeAccepted: { by?: string } | undefined;
  setHandler(acceptJudgeSignal, (arg) => {
    if (judgeAccepted) return;
    judgeAccepted = { ...(arg?.by ? { by: arg.by } : {}) };
    upsertMemo({ calibrationOverride: `accepted by ${arg?.by ?? 'an operator'} with --accept-judge` });
  });
  /** After calibration or preflight lets the run go on: the operator's pause, if one came meanwhile, takes effect. */
  const holdLifted = async () => {
    st.paused = false;
    st.pausedBy = { user: pausedBy.user };
    await applyPause();
  };
  return { aggregate, stopRequested: () => stopRequested, calibrationAccepted: () => judgeAccepted, holdLifted, resumes: () => resumes };
}
