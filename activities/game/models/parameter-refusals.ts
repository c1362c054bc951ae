import { Context } from '@temporalio/activity';
import type { TokenLimitParameter } from '../../../common/model-capabilities.js';
import type { UnsupportedParameterError } from '../../kit/errors.js';

/**
 * Request parameters an endpoint refused with a 400 that named them (kit/errors.ts
 * UnsupportedParameterError), remembered per endpoint and model for this worker process: the call
 * that met the refusal sends its request once more without the parameter, and every later call to
 * that endpoint leaves it out from the start. The family table (common/model-capabilities.ts) keeps
 * known refusals from being sent at all; this catches what it did not foresee (a new model, a proxy).
 *
 * Why per process and not in the workflow: like the context window, it is a fact about the server,
 * cheap to learn again after a restart, and it keeps histories independent of servers.
 */

/** What is done to a refused parameter: left out, or the answer cap sent under its other name. */
export type Adjustment = { kind: 'drop' } | { kind: 'rename'; to: TokenLimitParameter };

/** Optional fields that can go without changing what is asked: sampling, reasoning and thinking controls. */
const DROPPABLE = new Set(['temperature', 'top_p', 'reasoning_effort', 'reasoning', 'chat_template_kwargs', 'enable_thinking']);
const OTHER_LIMIT: Record<TokenLimitParameter, TokenLimitParameter> = { max_tokens: 'max_completion_tokens', max_completion_tokens: 'max_tokens' };

/**
 * The body field a refusal names, or undefined when it names nothing this body sent: `reasoning.effort`
 * is `reasoning_effort` on OpenAI's chat API (its error quotes the Responses path) and the `reasoning`
 * object on OpenRouter; `chat_template_kwargs.enable_thinking` is the whole object.
 */
export function bodyFieldOf(parameter: string, body: Record<string, unknown>): string | undefined {
  if (parameter in body) return parameter;
  const head = parameter.split(/[.[]/)[0]!;
  if (/^(reasoning|effort)$/.test(head) || parameter === 'reasoning.effort') {
    if ('reasoning_effort' in body) return 'reasoning_effort';
    if ('reasoning' in body) return 'reasoning';
  }
  return head in body ? head : undefined;
}

/** How the refused field is adjusted, or undefined when it cannot be: the request itself is wrong (its messages, its format). */
export function adjustmentFor(field: string, refused: 'parameter' | 'value'): Adjustment | undefined {
  if (DROPPABLE.has(field)) return { kind: 'drop' };
  // The cap is never dropped (the context fit depends on it); a cap refused for its size is not a naming problem.
  if ((field === 'max_tokens' || field === 'max_completion_tokens') && refused === 'parameter') return { kind: 'rename', to: OTHER_LIMIT[field] };
  return undefined;
}

/** `temperature` or `max_tokens→max_completion_tokens`: how an adjustment is named in results and logs. */
export const describeAdjustment = (field: string, a: Adjustment): string => (a.kind === 'drop' ? field : `${field}→${a.to}`);

/** The body with the endpoint's known refusals applied, and the names of what changed. */
export function applyRefusals<B extends Record<string, unknown>>(body: B, refusals: ReadonlyMap<string, Adjustment>): { body: B; changed: string[] } {
  const out: Record<string, unknown> = { ...body };
  const changed: string[] = [];
  for (const [field, a] of refusals) {
    if (!(field in out) || out[field] === undefined) continue;
    if (a.kind === 'rename' && !(a.to in out)) out[a.to] = out[field];
    delete out[field];
    changed.push(describeAdjustment(field, a));
  }
  return { body: out as B, changed };
}

const learned = new Map<string, Map<string, Adjustment>>();

/** The key of one endpoint's model: refusals are per model (o4-mini refuses what gpt-4.1 takes on the same API). */
export const refusalKey = (baseURL: string | undefined, model: string): string => `${baseURL ?? 'openai'}|${model}`;

/** What this process knows the endpoint refuses. */
export function knownRefusals(key: string): ReadonlyMap<string, Adjustment> {
  return learned.get(key) ?? new Map();
}

/**
 * Records a refusal; true when it was new. New ones are logged at WARN on the worker (once per endpoint,
 * model and parameter per process): the run goes on without what the config asked for, and a reader should know.
 */
export function learnRefusal(key: string, field: string, a: Adjustment, e: UnsupportedParameterError): boolean {
  let known = learned.get(key);
  if (!known) learned.set(key, (known = new Map()));
  if (known.has(field)) return false;
  known.set(field, a);
  const [baseURL, model] = [key.slice(0, key.lastIndexOf('|')), key.slice(key.lastIndexOf('|') + 1)];
  const what = a.kind === 'drop' ? `sent without ${field}` : `sent ${a.to} instead of ${field}`;
  warn(`${model} at ${baseURL} refuses ${field} (${e.message.replace(/\s+/g, ' ').slice(0, 200)}): the request is ${what}, and so is every later one to it from this worker`, { model, endpoint: baseURL, parameter: field });
  return true;
}

/** For tests: forget what was learned. */
export function forgetRefusals(): void {
  learned.clear();
}

function warn(message: string, meta: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, meta);
  } catch {
    // Outside an activity (validate --check in-process, scripts): the process's own stderr.
    console.warn(`WARN ${message}`);
  }
}
