import type { McpServerConfig, ModelRef } from '../../common/config.js';
import { ErrorType, ModelError } from '../../common/errors.js';
import { AttackSchema, DefenseSchema, MathAttackSchema, MultiVerdictSchema, ROLE_OF_ACTIVITY, VerdictSchema } from '../../common/game.js';
import { type PromptOverlap, promptOverlap } from '../../common/prompt-overlap.js';
import type { Attack, Defense, DomainBrief, JudgeVerdict, ReferenceCheck, ToolCallRecord, Usage } from '../../common/contracts/index.js';
import { PACKS } from './packs.js';
import { endpointLabel, measuredModelCall, recordCalibration } from '../kit/metrics.js';
import { genAiSystem, inEpisodeSpan, usageAttributes } from '../kit/tracing.js';
import { activity, activityIdentity, previousProgress, reportProgress } from '../kit/boundary.js';
import type { Batcher } from './models/batcher.js';
import { spentBefore, sumUsage } from './models/tiers.js';
import { type CalibrationOutcome, calibrateJudge } from './calibration/run.js';
import { mcpTools } from './judge/mcp.js';
import { createChatPreflight } from './preflight.js';
import { atStandardTier } from './models/build.js';
import type { ChatModel, StructuredRequest, ToolSpec } from './models/chat-model.js';
import { attackerMessages, defenderMessages, judgeMessages, judgePromptDigest, rolePromptGrams } from './prompts.js';

export interface GameDeps {
  chatModel(ref: ModelRef): ChatModel;
  /** Where the Judge's calibration results are kept (`<home>/calibration/`). */
  home: string;
  /** The benchmarks' train splits the calibration sets are built from. */
  datasetsDir: string;
  /** The data dir's Batch API batcher (models/batcher.ts), where a batch-tier episode's superseded answers are found; absent: none. */
  batcher?: Pick<Batcher, 'superseded' | 'pending'>;
}

const promptContext = (d: DomainBrief) => ({ version: d.promptVersion, pack: d.pack, brief: d.brief });

/**
 * The roles' temperatures where the model has no default of its own (the embedded model). An
 * endpoint is sent the ref's temperature or none: OpenAI's reasoning models answer 400 to any but
 * their default, and the provider's default (1 at OpenAI and Anthropic) keeps solve-rate samples apart.
 */
const ROLE_TEMPERATURE = { attacker: 0.9, defender: 0.2, sampledDefender: 0.8, judge: 0 } as const;

/** What a role's call returns beside its answer: the parameters the endpoint refused, when any (the episode's transcript keeps them), and what failed attempts cost. */
const refused = (r: { refusedParameters?: string[]; failedAttempts?: Usage }) => ({
  ...(r.refusedParameters ? { refusedParameters: r.refusedParameters } : {}),
  // What earlier attempts of the call were billed for before they failed: counted apart by the episode.
  ...(r.failedAttempts ? { failedAttempts: r.failedAttempts } : {}),
});

/** The three roles' model calls, on the rate-limited `nanoflux-llm` queue. */
export function createGameActivities(deps: GameDeps) {
  /**
   * One role's model call. What earlier attempts of this activity were billed for before they failed
   * or their worker died (heartbeated as `spent`, and in a failure's details) comes back with the
   * result as `failedAttempts`, so the episode counts it apart and the run's cost is the bill.
   */
  async function play<T>(role: keyof typeof ROLE_TEMPERATURE, ref: ModelRef, req: Omit<StructuredRequest<T>, 'temperature' | 'maxOutputTokens'>) {
    const m = deps.chatModel(ref);
    // At the batch tier a retry finds the answers its earlier attempts were billed for in the batcher's ledger and uses them: nothing to count apart.
    const prior = ref.tier === 'batch' ? undefined : spentBefore(previousProgress());
    const onUsage = (u: Usage) => reportProgress({ spent: prior ? sumUsage(prior, u) : u });
    const attributes = { 'nanoflux.role': role, 'gen_ai.system': genAiSystem(ref.provider), 'gen_ai.request.model': ref.model, ...(ref.tier ? { 'nanoflux.tier': ref.tier } : {}) };
    try {
      const r = await inEpisodeSpan(`nanoflux.${role}`, attributes, async (span) => {
        const done = await measuredModelCall({ role, model: m.id, endpoint: endpointLabel(ref.baseURL, ref.provider) }, () => m.generate({ ...req, defaultTemperature: ROLE_TEMPERATURE[role], maxOutputTokens: ref.maxOutputTokens, onUsage }));
        span.setAttributes({ ...usageAttributes(done.usage.promptTokens, done.usage.completionTokens), 'nanoflux.tool_calls': done.toolCalls.length });
        return done;
      });
      return { ...r, model: m.id, ...(prior ? { failedAttempts: prior } : {}) };
    } catch (e) {
      if (e instanceof ModelError) {
        const spent = prior && e.spent ? sumUsage(prior, e.spent) : (prior ?? e.spent);
        if (spent) {
          e.spent = spent;
          reportProgress({ spent });
        }
      }
      throw e;
    }
  }

  type JudgeArgs = { domain: DomainBrief; attack: Attack; defenses: Defense[]; model: ModelRef; maxSchemaRetries: number; tools: { maxToolRounds: number; mcpServers: McpServerConfig[] } };
  async function judgeCall(j: JudgeArgs): Promise<{ verdict: JudgeVerdict; usage: Usage; toolCalls: ToolCallRecord[]; model: string; refusedParameters?: string[]; failedAttempts?: Usage }> {
    const tools = [...PACKS[j.domain.pack].judgeTools(), ...(await mcpToolsOrUnavailable(j.tools.mcpServers))];
    const common = { messages: judgeMessages({ ...promptContext(j.domain), attack: j.attack, defenses: j.defenses }), maxSchemaRetries: j.maxSchemaRetries, tools, maxToolRounds: j.tools.maxToolRounds };
    if (j.defenses.length === 1) {
      const r = await play('judge', j.model, { ...common, schema: VerdictSchema, schemaName: 'verdict' });
      const { defenderCorrect, ...rest } = r.value;
      return { verdict: { ...rest, defendersCorrect: [defenderCorrect] }, usage: r.usage, toolCalls: r.toolCalls, model: r.model, ...refused(r) };
    }
    const r = await play('judge', j.model, { ...common, schema: MultiVerdictSchema, schemaName: 'verdict' });
    if (r.value.defendersCorrect.length !== j.defenses.length) {
      throw new ModelError(ErrorType.ModelOutputInvalid, `verdict: defendersCorrect has ${r.value.defendersCorrect.length} flags for ${j.defenses.length} answers`);
    }
    return { verdict: r.value, usage: r.usage, toolCalls: r.toolCalls, model: r.model, ...refused(r) };
  }

  return {
    attack: activity(
      async (a: { domain: DomainBrief; topic: string; targetComplexity: number; targetHops: number; defenderProfile: string; model: ModelRef; maxSchemaRetries: number }): Promise<{ attack: Attack; usage: Usage; model: string; promptOverlap: PromptOverlap; refusedParameters?: string[]; failedAttempts?: Usage }> => {
        const pack = PACKS[a.domain.pack];
        const r = await play('attacker', a.model, {
          messages: attackerMessages({ ...promptContext(a.domain), topic: a.topic, targetComplexity: a.targetComplexity, targetHops: a.targetHops, defenderProfile: a.defenderProfile }),
          schema: (pack.requiresProgram ? MathAttackSchema : AttackSchema) as typeof AttackSchema,
          schemaName: 'attack',
          maxSchemaRetries: a.maxSchemaRetries,
        });
        // Measured here, judged by the episode's junk guards (workflows/logic/junk.ts): the activity has the prompt texts.
        return { attack: r.value as Attack, usage: r.usage, model: r.model, promptOverlap: promptOverlap(r.value, rolePromptGrams(a.domain.promptVersion, a.domain.pack)), ...refused(r) };
      },
    ),

    defend: activity(
      async (d: { domain: DomainBrief; question: string; model: ModelRef; maxSchemaRetries: number; sampled?: boolean }): Promise<{ defense: Defense; usage: Usage; model: string; refusedParameters?: string[]; failedAttempts?: Usage }> => {
        // Solve-rate samples must differ, so they are drawn warmer than a single careful answer.
        const r = await play(d.sampled ? 'sampledDefender' : 'defender', d.model, {
          messages: defenderMessages({ ...promptContext(d.domain), question: d.question }),
          schema: DefenseSchema,
          schemaName: 'defense',
          maxSchemaRetries: d.maxSchemaRetries,
        });
        return { defense: r.value, usage: r.usage, model: r.model, ...refused(r) };
      },
    ),

    judge: activity(judgeCall),

    /**
     * At the end of a batch-tier episode: what the Batch API answered for this episode's earlier
     * executions (discarded by a reset or a termination) that this one asked differently and did not
     * use — billed all the same, so counted apart with the failed attempts. By role.
     */
    supersededBatchSpend: activity(async (): Promise<Partial<Record<'attacker' | 'defender' | 'judge', Usage>>> => {
      const id = activityIdentity();
      if (!id || !deps.batcher) return {};
      const byRole: Partial<Record<'attacker' | 'defender' | 'judge', Usage>> = {};
      for (const [type, usage] of deps.batcher.superseded(id.workflowId, id.runId)) {
        const role = ROLE_OF_ACTIVITY[type];
        if (role) byRole[role] = byRole[role] ? sumUsage(byRole[role], usage) : usage;
      }
      return byRole;
    }),

    // A batch job can take hours: the preflight asks each endpoint at the standard tier.
    ...createChatPreflight((ref) => deps.chatModel(atStandardTier(ref))),

    /** The domain pack's deterministic check of the reference (math: the Attacker's program, run in the sandbox). Runs as a local activity of the episode. */
    verifyReference: activity(async (v: { pack: DomainBrief['pack']; attack: Attack }): Promise<ReferenceCheck> => PACKS[v.pack].verify(v.attack)),

    /**
     * The Judge's calibration on the domain's labelled set (activities/game/calibration/), before
     * any episode: the same prompts, tools and model as in the game. Cached on disk, so a reset or
     * resume-from does not pay for it twice.
     */
    calibrateJudge: activity(async (c: Omit<JudgeArgs, 'attack' | 'defenses'> & { domain: DomainBrief & { benchmark?: string }; items: number; minAgreement: number }): Promise<CalibrationOutcome> => {
      const { apiKeyEnv: _key, ...identity } = c.model as ModelRef & { apiKeyEnv?: string };
      const outcome = await calibrateJudge(
        deps.home,
        deps.datasetsDir,
        { domain: c.domain, judgeIdentity: { ...identity, tools: c.tools, prompt: judgePromptDigest(c.domain.promptVersion, c.domain.pack) }, judgeModel: c.model.model, items: c.items, minAgreement: c.minAgreement },
        async (attack, defense) => {
          // Tens of sequential Judge calls before the run starts: at the standard tier, not a batch job each.
          const v = (await judgeCall({ ...c, model: atStandardTier(c.model), attack, defenses: [defense] })).verdict;
          return { questionValid: v.questionValid, referenceCorrect: v.referenceCorrect, defenderCorrect: v.defendersCorrect[0] ?? false };
        },
        (done, total) => reportProgress({ calibrated: done, of: total }),
      );
      if ('report' in outcome) recordCalibration(c.domain.name, c.model.model, outcome.report);
      return outcome;
    }),
  };
}

/** An MCP server that cannot be reached now may be back later: retryable, like a model endpoint. */
async function mcpToolsOrUnavailable(servers: McpServerConfig[]): Promise<ToolSpec[]> {
  if (servers.length === 0) return [];
  try {
    return await mcpTools(servers);
  } catch (e) {
    throw new ModelError(ErrorType.ModelUnavailable, e instanceof Error ? e.message : String(e), { cause: e });
  }
}

export type GameActivities = ReturnType<typeof createGameActivities>;
