import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DomainConfig, RunConfig } from '../common/config.js';
import { SA } from '../common/search-attributes.js';
import { episodeWorkflow } from './episode.js';
import { startOptions } from './logic/start-options.js';
import { applySummary, type Budget, type DomainProgress, mayLaunch, newProgress, progressIntervalMs, spendIsUrgent, spendOf, stopReason, type StopReason } from './logic/progress.js';
import { type ComplexityController, observe } from './logic/controller.js';
import { type BreakerTrip, describeTrip, type FailureStreak, failureText, failureTypeOf, observeEpisode } from './logic/breaker.js';
import { describeProfile, recordSkill, type SkillStats } from './logic/profile.js';
import { rolesFor, topicFor } from './logic/roles.js';
import type { EpisodeSummary, Slot } from '../common/contracts/index.js';
import { domainProgressSignal, domainStatusQuery, type DomainStatus, pauseSignal, resumeSignal, setConcurrencySignal, setBudgetSignal, setConcurrencyUpdate, setTargetSignal, stopSignal, validateConcurrency } from './messages.js';
import { bulkActivities, storeActivities } from './options.js';

/** The patch that throttled progress signals to the run (docs/architecture.md, "Versions with patched()"). */
export const THROTTLED_PROGRESS = 'progress-throttle';

/** The patch that pauses a domain after K consecutive same-type failures (docs/architecture.md, "Versions with patched()"). */
export const FAILURE_BREAKER = 'failure-breaker';

/** Everything the loop needs to continue where it stopped, carried across continue-as-new. */
export interface DomainCarry {
  progress: DomainProgress;
  nextEpisode: number;
  concurrency: number;
  paused: boolean;
  stop?: StopReason;
  generation: number;
  decontaminated: boolean;
  reports: number;
  /** Each model's record as Defender, by skill. */
  skills: Record<Slot, SkillStats>;
  /** The Attacker's target complexity and what the controller has seen since it last moved it. */
  controller: ComplexityController;
  /** The target of accepted examples in force (the config's, or one set since by `setTarget`). */
  targetAccepted: number;
  /** resume-from: examples taken over from the earlier run (counted in `progress.accepted`); undefined until imported. */
  imported?: number;
  /** Progress reports sent to the run so far (they are spaced out as they add up: progressIntervalMs). */
  progressSent?: number;
  /** The run's budget as last forwarded by the run (set-budget); undefined: the config's. */
  budget?: Budget;
  /** Consecutive finished episodes that failed with one breaker type (logic/breaker.ts). */
  streak?: FailureStreak;
  /** Set while the circuit breaker holds the domain: launches nothing until `resume`. */
  breaker?: BreakerTrip;
}

export interface DomainInput {
  config: RunConfig;
  domain: DomainConfig;
  /** The run workflow to report progress to (absent when the loop is started on its own). */
  parentWorkflowId?: string;
  /** Controls that reached the run before this loop started. */
  initial?: { paused: boolean; stop?: StopReason };
  carry?: DomainCarry;
}

/**
 * The episode loop of one domain: bounded concurrency, stop on target / episode budget / stop
 * signal, pause and resume, and continue-as-new every `continueAsNewEvery` episodes (or when
 * Temporal suggests it) after draining in-flight episodes, so nothing is lost across it.
 */
export async function domainLoop(input: DomainInput): Promise<DomainStatus> {
  const { config, domain } = input;
  const gen = config.generation;
  // Defaults first, then the carried state: a carry written by older code lacks newer fields.
  const s: DomainCarry = {
    progress: newProgress(domain.name),
    nextEpisode: 0,
    concurrency: gen.concurrency,
    paused: input.initial?.paused ?? false,
    stop: input.initial?.stop,
    generation: 0,
    decontaminated: domain.benchmark === 'none',
    reports: 0,
    skills: { a: {}, b: {} },
    controller: { level: gen.targetComplexity, recent: [] },
    targetAccepted: gen.targetAccepted,
    ...input.carry,
  };
  s.progress = { ...newProgress(domain.name), ...s.progress };
  const limits = { targetAccepted: s.targetAccepted, maxEpisodes: gen.maxEpisodes };
  const inFlight = new Map<number, Promise<void>>();
  let draining = false;
  const startedHere = s.progress.episodesStarted;
  // Histories from before the breaker kept launching whatever failed.
  const breakerOn = patched(FAILURE_BREAKER);

  const status = (): DomainStatus => ({
    ...s.progress,
    stage: !s.decontaminated ? 'decontaminating' : draining ? 'draining' : s.paused || s.breaker ? 'paused' : 'generating',
    inFlight: inFlight.size,
    concurrency: s.concurrency,
    stopReason: s.stop,
    generation: s.generation,
    seq: s.reports,
    targetComplexity: s.controller.level,
    targetAccepted: s.targetAccepted,
    ...(s.imported !== undefined ? { imported: s.imported } : {}),
    ...(s.breaker ? { breaker: s.breaker } : {}),
  });

  const { report, setBudget, flushPending } = progressReporter(input, s, status);

  domainControls(s, limits, { status, report, setBudget });

  upsertSearchAttributes([
    { key: SA.runId, value: config.runId },
    { key: SA.domain, value: domain.name },
    { key: SA.kind, value: 'domain' },
    { key: SA.stage, value: 'generating' },
    { key: SA.accepted, value: s.progress.accepted },
  ]);
  upsertMemo({ target: gen.targetAccepted, maxEpisodes: gen.maxEpisodes, topics: domain.topics.join(', ') });

  if (config.resumeFrom && s.imported === undefined) {
    const { imported } = await bulkActivities.importExamples({ fromRunId: config.resumeFrom, runId: config.runId, domain: domain.name, embedding: config.models.embedding });
    s.imported = imported;
    s.progress = { ...s.progress, accepted: s.progress.accepted + imported };
    upsertMemo({ resumedFrom: `${config.resumeFrom} (${imported} examples)` });
  }

  if (!s.decontaminated && domain.benchmark !== 'none') {
    await bulkActivities.ensureDecontamination({ benchmark: domain.benchmark, embedding: config.models.embedding });
    s.decontaminated = true;
  }

  const launch = (episode: number) => {
    const roles = rolesFor(episode, config.models);
    const defenderSlot: Slot = roles.attackerSlot === 'a' ? 'b' : 'a';
    const profile = describeProfile(s.skills[defenderSlot]);
    const p = runEpisode(config, domain, episode, roles.attackerSlot, roles.attacker, roles.defender, profile, s.controller.level).then(async (summary) => {
      s.progress = applySummary(s.progress, summary);
      s.controller = observe(s.controller, summary.outcome, gen.adaptiveComplexity);
      s.skills = { ...s.skills, [defenderSlot]: recordSkill(s.skills[defenderSlot], summary.skill, summary.outcome) };
      inFlight.delete(episode);
      const tripped = breakerOn && tripBreaker(summary);
      // An open breaker is news the operator must see at once, not at the next throttled report.
      await report(false, tripped);
    });
    inFlight.set(episode, p);
  };

  const over = () => stopReason(s.progress, limits, s.stop) !== undefined || timeToContinue();
  for (;;) {
    await condition(() => over() || mayLaunch(s.progress, limits, { inFlight: inFlight.size, concurrency: s.concurrency, paused: s.paused || s.breaker !== undefined, stop: s.stop }));
    if (over()) break;
    launch(s.nextEpisode);
    s.nextEpisode += 1;
    s.progress = { ...s.progress, episodesStarted: s.progress.episodesStarted + 1 };
  }

  draining = true;
  await Promise.all(inFlight.values());
  await condition(allHandlersFinished);
  draining = false;

  const finalReason = stopReason(s.progress, limits, s.stop);
  if (finalReason === undefined) {
    // Only reached through timeToContinue(): hand the counters to a fresh run of this workflow,
    // after the report a pending flush would have sent (its timer ends with this execution).
    await flushPending();
    await continueAsNew<typeof domainLoop>({ ...input, carry: { ...s, generation: s.generation + 1 } });
  }
  s.stop = finalReason;
  return await report(true);

  /** Feeds a finished episode to the breaker; true when this one opened it. */
  function tripBreaker(summary: EpisodeSummary): boolean {
    const { streak, trip } = observeEpisode(s.streak ?? { count: 0 }, summary, gen.pauseAfterFailures);
    s.streak = streak;
    if (!trip || s.breaker) return false;
    s.breaker = trip;
    upsertSearchAttributes([{ key: SA.stage, value: 'paused' }]);
    upsertMemo({ breaker: describeTrip(trip, config.runId) });
    return true;
  }

  function timeToContinue(): boolean {
    return s.progress.episodesStarted - startedHere >= gen.continueAsNewEvery || workflowInfo().continueAsNewSuggested;
  }
}

/** The loop's message handlers: pause, resume (which also closes an open breaker), stop, budget, target, concurrency, status. */
function domainControls(
  s: DomainCarry,
  limits: { targetAccepted: number },
  loop: { status: () => DomainStatus; report: () => Promise<DomainStatus>; setBudget: (b: Budget) => void },
): void {
  const { status, report, setBudget } = loop;
  const setPaused = async (paused: boolean) => {
    if (s.paused === paused) return;
    s.paused = paused;
    upsertSearchAttributes([{ key: SA.stage, value: paused ? 'paused' : 'generating' }]);
    // Tell the run at once, so its status shows the pause without waiting for the next episode.
    await report();
  };
  setHandler(pauseSignal, () => setPaused(true));
  setHandler(resumeSignal, async () => {
    if (!s.breaker) return await setPaused(false);
    // Resume closes the breaker: the operator says the cause is fixed; the next K failures open it again.
    s.breaker = undefined;
    s.streak = { count: 0 };
    s.paused = false;
    upsertSearchAttributes([{ key: SA.stage, value: 'generating' }]);
    upsertMemo({ breaker: null });
    await report();
  });
  setHandler(stopSignal, (arg) => void (s.stop ??= arg?.reason ?? 'stopped'));
  setHandler(setBudgetSignal, setBudget);
  setHandler(domainStatusQuery, status);
  setHandler(setTargetSignal, ({ targetAccepted }) => {
    // Validated by the run's update; a signal cannot be refused, so a bad value is ignored.
    if (Number.isInteger(targetAccepted) && targetAccepted >= 1) s.targetAccepted = limits.targetAccepted = targetAccepted;
  });
  setHandler(setConcurrencySignal, (arg) => {
    // The run validated it already; a signal cannot be refused, so a bad value is simply ignored.
    try {
      validateConcurrency(arg);
      s.concurrency = arg.concurrency;
    } catch {
      /* ignored */
    }
  });
  setHandler(setConcurrencyUpdate, ({ concurrency }) => ((s.concurrency = concurrency), { concurrency: s.concurrency }), { validator: validateConcurrency });
}

async function runEpisode(
  config: RunConfig,
  domain: DomainConfig,
  episode: number,
  attackerSlot: 'a' | 'b',
  attacker: RunConfig['models']['a'],
  defender: RunConfig['models']['a'],
  defenderProfile: string,
  targetComplexity: number,
): Promise<EpisodeSummary> {
  const start = startOptions({ kind: 'episode', runId: config.runId, domain: domain.name, episode });
  const { workflowId } = start;
  try {
    const handle = await startChild(episodeWorkflow, {
      ...start,
      args: [
        {
          runId: config.runId,
          domain: { name: domain.name, brief: domain.brief, benchmark: domain.benchmark, pack: domain.pack, promptVersion: config.generation.promptVersion },
          episode,
          topic: topicFor(episode, domain.topics),
          attackerSlot,
          models: { attacker, defender, judge: config.models.judge, embedding: config.models.embedding },
          targetComplexity,
          targetHops: config.generation.targetHops,
          defenderProfile,
          noveltyThreshold: config.generation.noveltyThreshold,
          maxSchemaRetries: config.generation.maxSchemaRetries,
          solveRate: config.generation.solveRate,
          judge: config.judge,
          ...(config.generation.review ? { review: config.generation.review } : {}),
        },
      ],
      // A completed episode is never redone: after a reset the loop reads its stored summary instead.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `${config.runId}/${domain.name} episode ${episode}: attacker ${attackerSlot.toUpperCase()} (${attacker.model}), defender ${defender.model}`,
    });
    return await handle.result();
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const stored = await storeActivities.loadEpisodeSummary({ workflowId });
      if (stored) return stored;
    }
    return failedSummary(episode, workflowId, attackerSlot, topicFor(episode, domain.topics), targetComplexity, err);
  }
}

function failedSummary(episode: number, workflowId: string, attackerSlot: 'a' | 'b', topic: string, targetComplexity: number, err: unknown): EpisodeSummary {
  const type = failureTypeOf(err);
  return {
    episode,
    workflowId,
    attackerSlot,
    topic,
    targetComplexity,
    outcome: 'failed',
    tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0 },
    toolCalls: 0,
    error: failureText(err),
    ...(type ? { errorType: type } : {}),
  };
}

/**
 * The loop's progress reports to its run. Since THROTTLED_PROGRESS, episode completions reach the
 * run at most once per progressIntervalMs (a timer flushes the last one): a signal per episode cost
 * the run ~3 history events and a workflow task each. Pauses and the final report still go at once.
 * Histories from before keep one per episode.
 */
function progressReporter(input: DomainInput, s: DomainCarry, status: () => DomainStatus) {
  const { config } = input;
  const throttled = patched(THROTTLED_PROGRESS);
  let lastSentAt = -Infinity;
  let flushing = false;
  let finalSent = false;
  let spentAtLastSend = spendOf(s.progress);
  // The run's budget as the run last forwarded it (set-budget), for spendIsUrgent.
  let budget = s.budget ?? config.budget;
  const send = async (st: DomainStatus) => {
    if (!input.parentWorkflowId) return;
    lastSentAt = Date.now();
    spentAtLastSend = spendOf(st);
    s.progressSent = (s.progressSent ?? 0) + 1;
    // The run may already be gone (terminated); progress reports are best effort.
    await getExternalWorkflowHandle(input.parentWorkflowId).signal(domainProgressSignal, st).catch(() => undefined);
  };
  const report = async (final = false, urgent = true) => {
    s.reports += 1;
    const st = final ? { ...status(), stage: 'done' as const } : status();
    upsertSearchAttributes([{ key: SA.accepted, value: st.accepted }, ...(final ? [{ key: SA.stage, value: 'done' }] : [])]);
    finalSent ||= final;
    const wait = lastSentAt + progressIntervalMs(s.progressSent ?? 0, config.domains.length) - Date.now();
    if (!throttled || urgent || wait <= 0 || spendIsUrgent(spendOf(st), spentAtLastSend, budget)) {
      await send(st);
    } else if (!flushing) {
      flushing = true;
      // The run sees the newest status when the timer fires, not the one that started it.
      // The catch: a cancelled loop's pending sleep rejects, and an unhandled rejection would fail
      // every workflow task of the loop from then on.
      void sleep(wait)
        .then(() => ((flushing = false), finalSent ? undefined : send({ ...status(), seq: ++s.reports })))
        .catch(() => undefined);
    }
    return st;
  };

  const setBudget = (b: Budget) => void (budget = s.budget = { ...budget, ...b });
  /** Before continue-as-new: the report a pending flush would have sent (its timer ends with this execution). */
  const flushPending = async () => {
    if (flushing && !finalSent) await send({ ...status(), seq: ++s.reports });
  };
  return { report, setBudget, flushPending };
}
