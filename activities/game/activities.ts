import type { McpServerConfig, ModelRef } from '../../common/config.js';
import { ErrorType, ModelError } from '../../common/errors.js';
import { AttackSchema, DefenseSchema, MultiVerdictSchema, VerdictSchema } from '../../common/game.js';
import type { Attack, Defense, DomainBrief, JudgeVerdict, ToolCallRecord, Usage } from '../../common/contracts/index.js';
import { activity } from '../kit/boundary.js';
import { mcpTools } from './judge/mcp.js';
import { judgeTools } from './judge/registry.js';
import type { ChatModel, StructuredRequest, ToolSpec } from './models/chat-model.js';
import { attackerMessages, defenderMessages, judgeMessages } from './prompts.js';

export interface GameDeps {
  chatModel(ref: ModelRef): ChatModel;
}

const promptContext = (d: DomainBrief) => ({ version: d.promptVersion, pack: d.pack, brief: d.brief });

const ROLE_TEMPERATURE = { attacker: 0.9, defender: 0.2, sampledDefender: 0.8, judge: 0 } as const;

/** The three roles' model calls, on the rate-limited `nanoflux-llm` queue. */
export function createGameActivities(deps: GameDeps) {
  async function play<T>(role: keyof typeof ROLE_TEMPERATURE, ref: ModelRef, req: Omit<StructuredRequest<T>, 'temperature' | 'maxOutputTokens'>) {
    const m = deps.chatModel(ref);
    const r = await m.generate({ ...req, temperature: ref.temperature ?? ROLE_TEMPERATURE[role], maxOutputTokens: ref.maxOutputTokens });
    return { ...r, model: m.id };
  }

  return {
    attack: activity(
      async (a: { domain: DomainBrief; topic: string; targetComplexity: number; targetHops: number; defenderProfile: string; model: ModelRef; maxSchemaRetries: number }): Promise<{ attack: Attack; usage: Usage; model: string }> => {
        const r = await play('attacker', a.model, {
          messages: attackerMessages({ ...promptContext(a.domain), topic: a.topic, targetComplexity: a.targetComplexity, targetHops: a.targetHops, defenderProfile: a.defenderProfile }),
          schema: AttackSchema,
          schemaName: 'attack',
          maxSchemaRetries: a.maxSchemaRetries,
        });
        return { attack: r.value, usage: r.usage, model: r.model };
      },
    ),

    defend: activity(
      async (d: { domain: DomainBrief; question: string; model: ModelRef; maxSchemaRetries: number; sampled?: boolean }): Promise<{ defense: Defense; usage: Usage; model: string }> => {
        // Solve-rate samples must differ, so they are drawn warmer than a single careful answer.
        const r = await play(d.sampled ? 'sampledDefender' : 'defender', d.model, {
          messages: defenderMessages({ ...promptContext(d.domain), question: d.question }),
          schema: DefenseSchema,
          schemaName: 'defense',
          maxSchemaRetries: d.maxSchemaRetries,
        });
        return { defense: r.value, usage: r.usage, model: r.model };
      },
    ),

    judge: activity(
      async (j: {
        domain: DomainBrief;
        attack: Attack;
        defenses: Defense[];
        model: ModelRef;
        maxSchemaRetries: number;
        tools: { maxToolRounds: number; mcpServers: McpServerConfig[] };
      }): Promise<{ verdict: JudgeVerdict; usage: Usage; toolCalls: ToolCallRecord[]; model: string }> => {
        const tools = [...judgeTools(j.domain.pack), ...(await mcpToolsOrUnavailable(j.tools.mcpServers))];
        const common = { messages: judgeMessages({ ...promptContext(j.domain), attack: j.attack, defenses: j.defenses }), maxSchemaRetries: j.maxSchemaRetries, tools, maxToolRounds: j.tools.maxToolRounds };
        if (j.defenses.length === 1) {
          const r = await play('judge', j.model, { ...common, schema: VerdictSchema, schemaName: 'verdict' });
          const { defenderCorrect, ...rest } = r.value;
          return { verdict: { ...rest, defendersCorrect: [defenderCorrect] }, usage: r.usage, toolCalls: r.toolCalls, model: r.model };
        }
        const r = await play('judge', j.model, { ...common, schema: MultiVerdictSchema, schemaName: 'verdict' });
        if (r.value.defendersCorrect.length !== j.defenses.length) {
          throw new ModelError(ErrorType.ModelOutputInvalid, `verdict: defendersCorrect has ${r.value.defendersCorrect.length} flags for ${j.defenses.length} answers`);
        }
        return { verdict: r.value, usage: r.usage, toolCalls: r.toolCalls, model: r.model };
      },
    ),
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
