import type { ModelRef } from '../common/config.js';
import { type Attack, AttackSchema, type Defense, DefenseSchema, type ToolCallRecord, type Usage, type Verdict, VerdictSchema } from '../common/game.js';
import { activity } from './boundary.js';
import { calculatorTool } from './judge/calculator.js';
import type { ChatModel } from './models/chat-model.js';
import { attackerMessages, defenderMessages, judgeMessages } from './prompts.js';

export interface ModelDeps {
  chatModel(ref: ModelRef): ChatModel;
}

interface DomainBrief {
  name: string;
  brief: string;
}

const ROLE_TEMPERATURE = { attacker: 0.9, defender: 0.2, judge: 0 } as const;

/** The three roles' model calls, on the rate-limited `nanoflux-llm` queue. */
export function createModelActivities(deps: ModelDeps) {
  return {
    attack: activity(
      async (a: { domain: DomainBrief; topic: string; targetComplexity: number; targetHops: number; model: ModelRef; maxSchemaRetries: number }): Promise<{ attack: Attack; usage: Usage; model: string }> => {
        const m = deps.chatModel(a.model);
        const r = await m.generate({
          messages: attackerMessages({ brief: a.domain.brief, topic: a.topic, targetComplexity: a.targetComplexity, targetHops: a.targetHops }),
          schema: AttackSchema,
          schemaName: 'attack',
          temperature: a.model.temperature ?? ROLE_TEMPERATURE.attacker,
          maxOutputTokens: a.model.maxOutputTokens,
          maxSchemaRetries: a.maxSchemaRetries,
        });
        return { attack: r.value, usage: r.usage, model: m.id };
      },
    ),

    defend: activity(
      async (d: { domain: DomainBrief; question: string; model: ModelRef; maxSchemaRetries: number }): Promise<{ defense: Defense; usage: Usage; model: string }> => {
        const m = deps.chatModel(d.model);
        const r = await m.generate({
          messages: defenderMessages({ brief: d.domain.brief, question: d.question }),
          schema: DefenseSchema,
          schemaName: 'defense',
          temperature: d.model.temperature ?? ROLE_TEMPERATURE.defender,
          maxOutputTokens: d.model.maxOutputTokens,
          maxSchemaRetries: d.maxSchemaRetries,
        });
        return { defense: r.value, usage: r.usage, model: m.id };
      },
    ),

    judge: activity(
      async (j: { domain: DomainBrief; attack: Attack; defense: Defense; model: ModelRef; maxSchemaRetries: number }): Promise<{ verdict: Verdict; usage: Usage; toolCalls: ToolCallRecord[]; model: string }> => {
        const m = deps.chatModel(j.model);
        const r = await m.generate({
          messages: judgeMessages({ brief: j.domain.brief, attack: j.attack, defense: j.defense }),
          schema: VerdictSchema,
          schemaName: 'verdict',
          temperature: j.model.temperature ?? ROLE_TEMPERATURE.judge,
          maxOutputTokens: j.model.maxOutputTokens,
          maxSchemaRetries: j.maxSchemaRetries,
          tools: [calculatorTool],
          maxToolRounds: 4,
        });
        return { verdict: r.value, usage: r.usage, toolCalls: r.toolCalls, model: m.id };
      },
    ),
  };
}

export type ModelActivities = ReturnType<typeof createModelActivities>;
