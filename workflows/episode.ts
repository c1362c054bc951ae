import { ActivityFailure, ApplicationFailure, condition, patched, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { answerKind } from '../common/answer-kind.js';
import { ROLE_OF_ACTIVITY } from '../common/game.js';
import type { Attack, Defense, EpisodeInput, EpisodeSummary, JudgeVerdict, RejectionReason, ReferenceCheck, ToolCallRecord, TrainingExample, Usage, Verification } from '../common/contracts/index.js';
import { SA } from '../common/search-attributes.js';
import { decide, decideBySolveRate, qualityLevel } from './logic/decide.js';
import { episodeKey } from './logic/ids.js';
import { zeroTokens } from './logic/progress.js';
import { failureTypeOf } from './logic/breaker.js';
import { decideVerified, referenceGate } from './logic/gate.js';
import { screenAttack } from './logic/junk.js';
import { batchLedgerActivities, checkActivities, localStoreActivities, modelCallsFor, storeActivities } from './options.js';
import { addBilled, addFailedAttempts, callCost, embeddingCost } from './logic/cost.js';
import { countEpisode } from './metrics.js';
import { type ReviewItem, reviewQuery, reviewSignal } from './messages.js';

/** The patch that moved the store steps to local activities (docs/architecture.md, "Versions with patched()"). */
export const LOCAL_STORE_STEPS = 'store-steps-local';

/** The patch that put the verified gate in the episode: junk guards, the executed reference check, rule-decided Defenders. */
export const VERIFIED_GATE = 'verified-gate';

type Role = 'attacker' | 'defender' | 'judge';
/** `refusedParameters`: what each role's endpoint refused and its calls went without (activities/game/models/parameter-refusals.ts). */
type Transcript = { attack?: Attack; defenses?: Defense[]; verdict?: JudgeVerdict; judgeModel?: string; toolCalls?: ToolCallRecord[]; verification?: Verification; rejection?: string; refusedParameters?: Partial<Record<Role, string[]>> };

function noteRefused(t: Transcript, role: Role, r: { refusedParameters?: string[] }): void {
  if (!r.refusedParameters?.length) return;
  const seen = t.refusedParameters?.[role] ?? [];
  (t.refusedParameters ??= {})[role] = [...seen, ...r.refusedParameters.filter((p) => !seen.includes(p))];
}

/** What the steps of one episode share: its input, what it has spent, what it found. */
interface Episode {
  input: EpisodeInput;
  key: string;
  summary: EpisodeSummary;
  transcript: Transcript;
  roleLine: string;
  store: typeof localStoreActivities;
  gated: boolean;
}

/**
 * One round of the game: attack → junk guards → novelty → executed reference check → defend →
 * judge → decide → store. Its history is the episode's audit trail. A failed step ends the episode
 * as `failed` (recorded, returned), never the run.
 */
export async function episodeWorkflow(input: EpisodeInput): Promise<EpisodeSummary> {
  const { workflowId } = workflowInfo();
  const summary: EpisodeSummary = {
    episode: input.episode,
    workflowId,
    attackerSlot: input.attackerSlot,
    topic: input.topic,
    targetComplexity: input.targetComplexity,
    outcome: 'failed',
    tokens: zeroTokens(),
    cost: zeroTokens(),
    toolCalls: 0,
  };
  const roleLine = `attacker ${input.attackerSlot.toUpperCase()} (${input.models.attacker.model}) vs defender (${input.models.defender.model})`;
  setCurrentDetails(`**${roleLine}** — topic: ${input.topic}`);
  // Novelty, store and ledger as local activities since this patch; histories from before replay
  // with the activities they scheduled. Likewise the verified gate: older histories decide as before.
  const store = patched(LOCAL_STORE_STEPS) ? localStoreActivities : storeActivities;
  const gated = patched(VERIFIED_GATE);
  const ep: Episode = { input, key: episodeKey(input.runId, input.domain.name, input.episode), summary, transcript: {}, roleLine, store, gated };
  const review = reviewGate();
  try {
    await play(ep, review);
  } catch (err) {
    summary.outcome = 'failed';
    summary.error = describeFailure(err);
    countFailedCall(ep, err);
    const type = failureTypeOf(err);
    if (type) summary.errorType = type;
  }
  // Only batch-tier episodes ask (no history from before the batch tier has one): answers billed for an earlier, discarded execution of this episode.
  if ((['attacker', 'defender', 'judge'] as const).some((r) => input.models[r].tier === 'batch')) {
    try {
      const superseded = await batchLedgerActivities.supersededBatchSpend();
      for (const [role, usage] of Object.entries(superseded)) count(ep, role as Role, usage, true);
    } catch (err) {
      // A reckoning that cannot be had (its retries spent) must not cost the episode its outcome.
      if (!(err instanceof ActivityFailure)) throw err;
    }
  }
  return await finish(ep);
}

/**
 * One call's usage into the episode's tokens and cost, and what the provider said of its bill
 * (cached prompt, flex, batch) into `billed`, kept only once it says something. Failed attempts'
 * usage counts in tokens and cost too (it was billed) and apart in `billed.failedAttempts`.
 */
function count(ep: Episode, role: Role, usage: Usage, failed = false): void {
  const { summary } = ep;
  summary.tokens[role] += usage.promptTokens + usage.completionTokens;
  summary.cost![role] += callCost(usage, ep.input.models[role].price);
  const billed = failed ? addFailedAttempts(summary.billed, role, usage) : addBilled(summary.billed, role, usage);
  if (billed) summary.billed = billed;
}

/** A role's call result: its usage, and what its failed attempts were billed for. */
function countCall(ep: Episode, role: Role, r: { usage: Usage; failedAttempts?: Usage }): void {
  count(ep, role, r.usage);
  if (r.failedAttempts) count(ep, role, r.failedAttempts, true);
}

/** A model call that failed for good: what its attempts were billed for (the failure's details, activities/kit/errors.ts), counted apart. */
function countFailedCall(ep: Episode, err: unknown): void {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return;
  const role = ROLE_OF_ACTIVITY[err.activityType ?? ''];
  const spent = (err.cause.details?.[0] as { spent?: Usage } | undefined)?.spent;
  if (role && spent && typeof spent.promptTokens === 'number' && typeof spent.completionTokens === 'number') count(ep, role, spent, true);
}

/** The game's steps; each `return` leaves `summary.outcome` set for `finish`. */
async function play(ep: Episode, review: ReturnType<typeof reviewGate>): Promise<void> {
  const { input, summary, transcript } = ep;
  const { tokens, cost } = summary;
  const attacked = await modelCallsFor(input.models.attacker).attack({
    domain: input.domain,
    topic: input.topic,
    targetComplexity: input.targetComplexity,
    targetHops: input.targetHops,
    defenderProfile: input.defenderProfile,
    model: input.models.attacker,
    maxSchemaRetries: input.maxSchemaRetries,
  });
  countCall(ep, 'attacker', attacked);
  transcript.attack = attacked.attack;
  noteRefused(transcript, 'attacker', attacked);
  summary.skill = attacked.attack.skill;

  if (ep.gated) {
    const junk = screenAttack(input.domain.pack, attacked.attack, attacked.promptOverlap ?? { share: 0 });
    if (junk) return reject(ep, junk.reason, junk.detail);
  }

  const novelty = await ep.store.checkNovelty({ domain: input.domain.name, benchmark: input.domain.benchmark, embedding: input.models.embedding, question: attacked.attack.question, selfKey: ep.key });
  tokens.embedding += novelty.tokens;
  cost!.embedding += embeddingCost(novelty.tokens, input.models.embedding.price);
  if (novelty.nearest && novelty.nearest.score >= input.noveltyThreshold) {
    summary.outcome = 'duplicate';
    summary.nearest = novelty.nearest;
    return;
  }

  const check = ep.gated ? await checkActivities.verifyReference({ pack: input.domain.pack, attack: attacked.attack }) : undefined;
  if (check) {
    const refuted = referenceGate(check);
    const record = { method: check.method, referenceVerified: check.verified, defenderDecidedBy: [], disagreements: { reference: false, defenders: 0 } };
    transcript.verification = { ...record, detail: check.detail, ...(check.program ? { program: check.program } : {}) };
    if (refuted) {
      summary.verification = record;
      return reject(ep, refuted, check.detail);
    }
  }

  const samples = input.solveRate?.samples ?? 1;
  const defended = await Promise.all(
    Array.from({ length: samples }, () =>
      modelCallsFor(input.models.defender).defend({ domain: input.domain, question: attacked.attack.question, model: input.models.defender, maxSchemaRetries: input.maxSchemaRetries, sampled: samples > 1 }),
    ),
  );
  for (const d of defended) {
    countCall(ep, 'defender', d);
    noteRefused(transcript, 'defender', d);
  }
  transcript.defenses = defended.map((d) => d.defense);

  const judged = await modelCallsFor(input.models.judge).judge({
    domain: input.domain,
    attack: attacked.attack,
    defenses: transcript.defenses,
    model: input.models.judge,
    maxSchemaRetries: input.maxSchemaRetries,
    tools: input.judge ?? { maxToolRounds: 4, mcpServers: [] },
  });
  countCall(ep, 'judge', judged);
  Object.assign(transcript, { verdict: judged.verdict, judgeModel: judged.model, toolCalls: judged.toolCalls });
  noteRefused(transcript, 'judge', judged);
  summary.toolCalls = judged.toolCalls.length;
  summary.toolUse = describeToolUse(judged.toolCalls);

  const v = judged.verdict;
  const novelty01 = 1 - (novelty.nearest?.score ?? 0);
  summary.scores = { complexity: v.complexity, hops: v.hops, quality: v.quality, qualityLevel: qualityLevel(v.quality), novelty: novelty01 };
  decideEpisode(ep, v, check);
  if (summary.outcome !== 'accepted') return;

  const example: TrainingExample = {
    id: ep.key,
    question: attacked.attack.question,
    solutionSteps: attacked.attack.solutionSteps,
    answer: attacked.attack.referenceAnswer,
    annotation: attacked.attack.annotation,
    domain: input.domain.name,
    skill: attacked.attack.skill,
    complexity: v.complexity,
    hops: v.hops,
    quality: v.quality,
    qualityLevel: qualityLevel(v.quality),
    novelty: novelty01,
    provenance: { runId: input.runId, episode: input.episode, workflowId: summary.workflowId, attackerModel: attacked.model, defenderModel: defended[0]!.model, judgeModel: judged.model },
    ...(transcript.verification ? { verification: { method: transcript.verification.method, verified: transcript.verification.referenceVerified } } : {}),
  };
  if (input.review) {
    summary.review = await review.wait(example, input.review, summary.workflowId, ep.roleLine);
    if (!summary.review.approve) {
      summary.outcome = 'rejected_in_review';
      return;
    }
  }
  const stored = await ep.store.storeExample({ example, embedding: input.models.embedding, threshold: input.noveltyThreshold });
  if (stored.duplicateOf) {
    // Another episode stored a near-identical question after our novelty check.
    summary.outcome = 'duplicate';
    summary.nearest = stored.duplicateOf;
  } else {
    summary.exampleId = stored.id;
  }
}

function reject(ep: Episode, outcome: RejectionReason, detail: string): void {
  ep.summary.outcome = outcome;
  ep.summary.rejection = detail.slice(0, 300);
  ep.transcript.rejection = detail;
}

/** The verdict, overruled by the deterministic checks where they decide (gated episodes); the Judge alone before the gate. */
function decideEpisode(ep: Episode, v: JudgeVerdict, check: ReferenceCheck | undefined): void {
  const { input, summary, transcript } = ep;
  if (!check) {
    if (input.solveRate) {
      const r = decideBySolveRate(v, input.solveRate);
      summary.outcome = r.outcome;
      summary.scores!.solveRate = r.solveRate;
    } else {
      summary.outcome = decide({ ...v, defenderCorrect: v.defendersCorrect[0] ?? false });
    }
    return;
  }
  const kind = answerKind(input.domain.pack, transcript.attack!.question, transcript.attack!.referenceAnswer);
  const r = decideVerified({
    verdict: v,
    check,
    kind: 'unparseable' in kind ? { kind: 'free' } : kind,
    defenderAnswers: (transcript.defenses ?? []).map((d) => d.answer),
    ...(input.solveRate ? { solveRate: input.solveRate } : {}),
  });
  summary.outcome = r.outcome;
  if (r.solveRate !== undefined) summary.scores!.solveRate = r.solveRate;
  transcript.verification = r.verification;
  const { program: _program, detail: _detail, ...compact } = r.verification;
  summary.verification = compact;
}

/**
 * Review mode's wait: the episode shows up under NanofluxStage="review", answers `reviewItem` with
 * the example, and takes the first `review` signal sent while it waits (earlier ones are ignored:
 * nobody can approve what they have not seen). Unanswered, the timeout policy decides.
 */
function reviewGate() {
  let item: ReviewItem | null = null;
  let decision: { approve: boolean; reviewer?: string; note?: string } | undefined;
  setHandler(reviewQuery, () => item);
  setHandler(reviewSignal, (d) => {
    if (item && decision === undefined) decision = { approve: d.approve === true, ...(d.reviewer ? { reviewer: d.reviewer } : {}), ...(d.note ? { note: d.note } : {}) };
  });
  return {
    async wait(example: TrainingExample, policy: NonNullable<EpisodeInput['review']>, workflowId: string, roleLine: string) {
      const now = Date.now();
      item = {
        runId: example.provenance.runId,
        domain: example.domain,
        episode: example.provenance.episode,
        workflowId,
        question: example.question,
        answer: example.answer,
        solutionSteps: example.solutionSteps,
        scores: { complexity: example.complexity, hops: example.hops, quality: example.quality, qualityLevel: example.qualityLevel, novelty: example.novelty },
        waitingSince: now,
        decidesAt: now + policy.timeoutSeconds * 1000,
        onTimeout: policy.onTimeout,
      };
      upsertSearchAttributes([{ key: SA.stage, value: 'review' }]);
      setCurrentDetails(`awaiting review (${policy.onTimeout} after ${policy.timeoutSeconds} s) — ${roleLine}`);
      const decided = await condition(() => decision !== undefined, policy.timeoutSeconds * 1000);
      item = null;
      upsertSearchAttributes([{ key: SA.stage, value: 'episode' }]);
      return decided ? decision! : { approve: policy.onTimeout === 'approve', reviewer: 'timeout' };
    },
  };
}

async function finish(ep: Episode): Promise<EpisodeSummary> {
  const { store, summary, transcript, input, roleLine } = ep;
  const s = summary.scores;
  const line = `${summary.outcome} — ${roleLine}` + (s ? ` — complexity ${s.complexity}, quality ${s.quality.toFixed(1)} (${s.qualityLevel}), hops ${s.hops}` : '') +
    (summary.toolUse ? ` — judge tools: ${summary.toolUse}` : '') +
    (summary.nearest ? ` — nearest ${summary.nearest.id} at ${summary.nearest.score.toFixed(3)}` : '') + (summary.rejection ? ` — ${summary.rejection}` : '') +
    (summary.verification ? ` — ${verificationLine(summary.verification)}` : '') + (summary.error ? ` — ${summary.error}` : '');
  setCurrentDetails(line);
  upsertMemo({ summary: line });
  upsertSearchAttributes([{ key: SA.outcome, value: summary.outcome }]);
  await store.recordEpisode({
    workflowId: summary.workflowId,
    runId: input.runId,
    domain: input.domain.name,
    episode: input.episode,
    summary,
    transcript,
    example: { key: ep.key, embedding: input.models.embedding },
  });
  countEpisode(input, summary);
  return summary;
}

/** `reference verified by program; defender by rule (judge disagreed ×1)`: how the verdict was decided, at a glance. */
function verificationLine(v: NonNullable<EpisodeSummary['verification']>): string {
  const ref = v.referenceVerified === null ? 'reference by judge' : `reference ${v.referenceVerified ? 'verified' : 'refuted'} by ${v.method}`;
  const by = v.defenderDecidedBy.includes('rule') ? 'defender by rule' : 'defender by judge';
  const dis = v.disagreements.defenders + (v.disagreements.reference ? 1 : 0);
  return `${ref}; ${by}${dis ? ` (judge overruled ×${dis})` : ''}`;
}

/** `calculate×2, python×1 (1 error)`: the judge's tool use at a glance in the web UI. */
function describeToolUse(calls: ToolCallRecord[]): string | undefined {
  if (calls.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.tool, (counts.get(c.tool) ?? 0) + 1);
  const errors = calls.filter((c) => c.error).length;
  return [...counts].map(([t, n]) => `${t}×${n}`).join(', ') + (errors ? ` (${errors} error${errors > 1 ? 's' : ''})` : '');
}

function describeFailure(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`.slice(0, 500);
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
}
