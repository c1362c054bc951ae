import { z } from 'zod';
import { formatPath } from '../../../common/config.js';
import type { ToolSpec } from '../models/chat-model.js';

/**
 * Define a judge tool from one zod schema, so the JSON Schema sent to the model and the validation
 * of what the model sends back can never drift apart.
 *
 * Contract (same as calculatorTool): `run` never throws. Arguments that fail the schema give
 * `{"error": "<field path>: <reason>"}`, a thrown Error gives `{"error": message}`, and success gives
 * `{"result": …}`. Errors are text the model can read and correct, not crashes of the episode.
 */
export interface ToolDefinition<I> {
  name: string;
  description: string;
  /** Should be a z.object / z.strictObject: tool arguments are always a JSON object. */
  input: z.ZodType<I>;
  run: (input: I) => unknown;
}

export function formatZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? formatPath(issue.path) : '(arguments)'}: ${issue.message}`).join('; ');
}

export function defineTool<I>(spec: ToolDefinition<I>): ToolSpec {
  // io: 'input' describes what the caller may send (fields with defaults are optional), which is
  // what a tool's parameters mean. `$schema` is dropped: providers' function schemas don't want it.
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(spec.input, { io: 'input' }) as Record<string, unknown>;
  return {
    name: spec.name,
    description: spec.description,
    parameters,
    async run(args: unknown): Promise<string> {
      try {
        const parsed = spec.input.safeParse(args);
        if (!parsed.success) return JSON.stringify({ error: formatZodError(parsed.error) });
        const result = await spec.run(parsed.data);
        return JSON.stringify({ result });
      } catch (e) {
        return JSON.stringify({ error: e instanceof Error ? e.message : String(e) });
      }
    },
  };
}
