import type { z } from 'zod';
import type { ToolCallRecord, Usage } from '../../../common/contracts/index.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A function the model may call (the judge's tools). `run` returns the text handed back to the model. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  run(args: unknown): Promise<string>;
}

export interface StructuredRequest<T> {
  messages: ChatMessage[];
  /** Validates the answer; its JSON Schema is sent as `response_format` / the grammar. */
  schema: z.ZodType<T>;
  schemaName: string;
  /** Overrides the model's own (its ref's); none: the model's. */
  temperature?: number;
  /** The role's temperature, for a model with no provider default to fall back on (the embedded one); an endpoint is sent the ref's or none. */
  defaultTemperature?: number;
  maxOutputTokens?: number;
  /** Answers that fail the schema are asked again this many times, then ModelOutputInvalid. */
  maxSchemaRetries?: number;
  tools?: ToolSpec[];
  /** Bound on tool-calling rounds before the final structured answer is demanded. */
  maxToolRounds?: number;
  /** Told the call's usage so far after each billed response (the activity heartbeats it: a crashed attempt's spend is not lost). */
  onUsage?: (usage: Usage) => void;
}

export interface StructuredResult<T> {
  value: T;
  /** Summed over every attempt and tool round: what was really spent. */
  usage: Usage;
  toolCalls: ToolCallRecord[];
  attempts: number;
  /** Request parameters the endpoint refuses, left out or renamed in this call (`temperature`, `max_tokens→max_completion_tokens`); absent when none. */
  refusedParameters?: string[];
}

/** One chat model, whatever serves it. Implementations throw ModelError (common/errors.ts). */
export interface ChatModel {
  /** `provider:model`, for provenance. */
  readonly id: string;
  generate<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>>;
}
