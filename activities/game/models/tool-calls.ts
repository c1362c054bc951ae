import type { ToolCallRecord } from '../../../common/contracts/index.js';
import type { ToolSpec } from './chat-model.js';
import { inChildSpan } from '../../kit/tracing.js';

const TRUNCATE = 500;

export const truncate = (s: string, n = TRUNCATE) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Longest a single tool call may take (the python tool's own wall-time limit is far shorter). */
export const TOOL_CALL_TIMEOUT_MS = 60_000;

/** Runs one tool call; never throws, so a bad call becomes text the model can react to. `captureContent`: its arguments and result go on its span. */
export function runToolCall(tools: ToolSpec[], name: string, rawArgs: string, captureContent = false): Promise<{ text: string; record: ToolCallRecord }> {
  return inChildSpan(`execute_tool ${name}`, 'internal', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name }, async (span) => {
    const r = await runToolCallUntraced(tools, name, rawArgs);
    span.setAttribute('nanoflux.tool.duration_ms', r.record.durationMs);
    if (captureContent) span.setAttributes({ 'gen_ai.tool.call.arguments': rawArgs, 'gen_ai.tool.call.result': r.text });
    if (r.record.error) span.setAttribute('error.type', 'tool_error');
    return r;
  });
}

async function runToolCallUntraced(tools: ToolSpec[], name: string, rawArgs: string): Promise<{ text: string; record: ToolCallRecord }> {
  const started = Date.now();
  const finish = (text: string, error?: string) => ({
    text,
    record: { tool: name, input: truncate(rawArgs), output: truncate(text), durationMs: Date.now() - started, ...(error ? { error } : {}) },
  });
  const tool = tools.find((t) => t.name === name);
  if (!tool) return finish(JSON.stringify({ error: `unknown tool "${name}"` }), `unknown tool "${name}"`);
  let args: unknown;
  try {
    args = rawArgs.trim() ? JSON.parse(rawArgs) : {};
  } catch (e) {
    const error = `malformed tool arguments (not JSON): ${e instanceof Error ? e.message : String(e)}`;
    return finish(JSON.stringify({ error }), error);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    // A bound on each call's time: a tool that hangs must not hold the judge (and its activity) forever.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tool "${name}" did not answer within ${TOOL_CALL_TIMEOUT_MS / 1000} s`)), TOOL_CALL_TIMEOUT_MS);
    });
    const text = await Promise.race([tool.run(args), timeout]);
    return finish(text, toolError(text));
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return finish(JSON.stringify({ error }), error);
  } finally {
    clearTimeout(timer);
  }
}

/** Tools answer errors as JSON `{"error": …}` rather than throwing; the record should say so too. */
function toolError(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && 'error' in v ? truncate(String((v as { error: unknown }).error)) : undefined;
  } catch {
    return undefined;
  }
}

