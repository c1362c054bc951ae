import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { ModelRef } from '../../common/config.js';
import { type ModelPreflight, PREFLIGHT_ATTEMPTS, type PreflightProblem } from '../../common/contracts/index.js';
import { ErrorType, MissingApiKey, NanofluxError } from '../../common/errors.js';
import { apiKeyFor } from '../kit/model-refs.js';
import { activity } from '../kit/boundary.js';
import { PACKS } from './packs.js';
import { runPython } from './judge/python-sandbox.js';
import type { ChatModel, ToolSpec } from './models/chat-model.js';


const PreflightAnswer = z.object({ ok: z.boolean() });

/** A tool the probe offers, so an endpoint that refuses tool definitions says so before the Judge needs them. */
const echoTool: ToolSpec = {
  name: 'echo',
  description: 'Returns its text unchanged.',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
  run: async (args) => String((args as { text?: unknown }).text ?? ''),
};

const attempt = (): number => {
  try {
    return Context.current().info.attempt;
  } catch {
    return PREFLIGHT_ATTEMPTS; // called directly (nanoflux validate --check in-process, tests): no retries to wait for
  }
};

/** The ref as a person names it in status: `judge (openai:gpt-4o-mini at http://…)`. */
export function refSubject(roles: string[], ref: ModelRef): string {
  return `${roles.join('+')} (${ref.provider}:${ref.model}${ref.baseURL ? ` at ${ref.baseURL}` : ''})`;
}

/** The key variable a ref names, checked before any request: the failure every episode would hit. */
export function keyProblem(subject: string, ref: ModelRef, env: NodeJS.ProcessEnv = process.env): PreflightProblem | undefined {
  if (ref.provider !== 'openai') return undefined;
  try {
    apiKeyFor(ref, env); // the same lookup the model clients make
    return undefined;
  } catch (e) {
    if (!(e instanceof MissingApiKey)) throw e;
    return { check: 'key', subject, type: e.type, message: `${e.message} on the worker; set it where the worker runs and restart the worker` };
  }
}

/**
 * A failed probe as a problem, or rethrown while a retry may still cure it (429, 5xx, a timeout):
 * preflight must not pause a run for one hiccup, nor wait forever on an endpoint that is down.
 */
export function probeFailure(check: PreflightProblem['check'], subject: string, err: unknown, what: string): PreflightProblem {
  const type = err instanceof NanofluxError ? err.type : ErrorType.InternalError;
  const transient = type === ErrorType.RateLimited || type === ErrorType.ModelUnavailable || type === ErrorType.InternalError;
  if (transient && attempt() < PREFLIGHT_ATTEMPTS) throw err;
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);
  return { check, subject, type, message: `${what}: ${message}` };
}

/** Runs one line in the sandbox: a pack that executes programs (or a Judge with the python tool) needs it to start. */
export async function sandboxProblem(where: string): Promise<PreflightProblem | undefined> {
  const r = await runPython('print(6 * 7)');
  if (r.ok && r.stdout.trim() === '42') return undefined;
  return { check: 'sandbox', subject: `python sandbox (${where})`, type: ErrorType.InternalError, message: `the sandbox did not run a one-line program: ${r.ok ? `printed ${JSON.stringify(r.stdout.slice(0, 80))}` : r.error}` };
}

/**
 * One structured answer with at most a few tokens, with a tool on offer when the roles call tools.
 * Sent as the roles send theirs (the ref's temperature or none, its token-limit field, reasoning
 * effort, thinking): a parameter the endpoint refuses shows here, and is learned for this worker.
 */
async function probeChat(model: ChatModel, tools: boolean): Promise<void> {
  await model.generate({
    messages: [
      { role: 'system', content: 'Preflight check of the endpoint. Answer with the JSON object {"ok": true}.' },
      { role: 'user', content: 'ok?' },
    ],
    schema: PreflightAnswer,
    schemaName: 'preflight',
    maxOutputTokens: 16,
    maxSchemaRetries: 0,
    ...(tools ? { tools: [echoTool], maxToolRounds: 1 } : {}),
  });
}

/** Whether a refused probe with a tool is refused for the tool: the same probe without one goes through. */
async function refusedForTools(model: ChatModel): Promise<boolean> {
  try {
    await probeChat(model, false);
    return true;
  } catch (e) {
    return e instanceof NanofluxError && e.type === ErrorType.ModelOutputInvalid;
  }
}

/** The chat half of preflight, on the `nanoflux-llm` worker: keys, one request per model, the Judge's sandbox. */
export function createChatPreflight(chatModel: (ref: ModelRef) => ChatModel) {
  async function checkModel(roles: string[], ref: ModelRef, tools: boolean): Promise<PreflightProblem | undefined> {
    const subject = refSubject(roles, ref);
    const missing = keyProblem(subject, ref);
    if (missing) return missing;
    const model = chatModel(ref);
    try {
      await probeChat(model, tools);
      return undefined;
    } catch (e) {
      // The endpoint took the request (structured output, tools) and answered: the model's own
      // answer quality is the game's business, not preflight's.
      if (e instanceof NanofluxError && e.type === ErrorType.ModelOutputInvalid) return undefined;
      if (tools && e instanceof NanofluxError && e.type === ErrorType.ModelRequestRejected && (await refusedForTools(model))) {
        return { check: 'tools', subject, type: e.type, message: `the endpoint refuses tool definitions, which the Judge needs (its tools: calculator, python, MCP): ${e.message.slice(0, 200)}` };
      }
      return probeFailure('endpoint', subject, e, 'a one-answer request with structured output failed');
    }
  }

  return {
    preflightModels: activity(async (p: ModelPreflight): Promise<PreflightProblem[]> => {
      const problems: PreflightProblem[] = [];
      for (const m of p.models) {
        const problem = await checkModel(m.roles, m.ref, m.tools);
        if (problem) problems.push(problem);
      }
      const judgeRunsPython = p.packs.some((pack) => PACKS[pack as keyof typeof PACKS]?.judgeTools().some((t) => t.name === 'python'));
      const sandbox = judgeRunsPython ? await sandboxProblem('the Judge\'s python tool, nanoflux-llm worker') : undefined;
      return sandbox ? [...problems, sandbox] : problems;
    }),
  };
}
