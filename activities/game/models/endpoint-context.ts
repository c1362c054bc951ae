import { withCallTimeout } from '../../kit/call-timeout.js';
import { TokenRuler } from './context-window.js';
import { refusalKey } from './parameter-refusals.js';

/**
 * What this worker process knows about one chat endpoint's context window: what the server says
 * about it (llama-server's GET /props, vLLM's GET /v1/models, probed once per server), what a
 * refusal taught (a 400 naming the window), and the chars-per-token ratio its reports taught.
 * Shared by every model ref that names the endpoint, like its rate limiter.
 *
 * Why per process and not in the workflow: the window is a fact about the server, cheap to learn
 * again after a restart, and keeping it out of histories keeps replays independent of servers.
 */

/** The longest a probe may take: a server that does not answer it fast is treated as silent about its window. */
const PROBE_TIMEOUT_MS = 5000;

export interface ProbeTarget {
  baseURL: string;
  model: string;
  apiKey: string;
  timeoutMs?: number;
}

/** The server's root (llama-server serves /props there, beside /v1). */
export const serverRoot = (baseURL: string) => baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');

/** The JSON a GET answers, or undefined for any refusal or a body that is not JSON; the time limit covers the body too. */
function getJson(url: string, apiKey: string, timeoutMs: number): Promise<unknown> {
  return withCallTimeout(timeoutMs, async (signal) => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' }, signal });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return res.json().catch(() => undefined);
  });
}

const positiveInt = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

interface ServerFacts {
  /** llama-server's per-slot window. */
  nCtx?: number;
  /** vLLM's window per served model. */
  maxModelLen: Map<string, number>;
}

async function askServer(t: ProbeTarget): Promise<ServerFacts> {
  const timeout = Math.min(PROBE_TIMEOUT_MS, t.timeoutMs ?? PROBE_TIMEOUT_MS);
  const facts: ServerFacts = { maxModelLen: new Map() };
  try {
    const props = (await getJson(`${serverRoot(t.baseURL)}/props`, t.apiKey, timeout)) as { default_generation_settings?: { n_ctx?: unknown } } | undefined;
    facts.nCtx = positiveInt(props?.default_generation_settings?.n_ctx);
    if (facts.nCtx !== undefined) return facts;
    const models = (await getJson(`${t.baseURL.replace(/\/+$/, '')}/models`, t.apiKey, timeout)) as { data?: Array<{ id?: unknown; max_model_len?: unknown }> } | undefined;
    for (const m of Array.isArray(models?.data) ? models.data : []) {
      const len = positiveInt(m?.max_model_len);
      if (typeof m?.id === 'string' && len !== undefined) facts.maxModelLen.set(m.id, len);
    }
    return facts;
  } catch (e) {
    // A server too busy to answer in time is taken as silent (and not asked again: that would add
    // the wait to every call); one that cannot be reached at all is asked again next time.
    if (e instanceof Error && e.name === 'TimeoutError') return facts;
    throw e;
  }
}

const servers = new Map<string, Promise<ServerFacts>>();

/**
 * The window the server states for `model`: llama-server's per-slot
 * `default_generation_settings.n_ctx` (the number its refusals are measured against, not the `-c`
 * total over all slots), else vLLM's `max_model_len` in /v1/models; undefined when neither says
 * (OpenAI, Ollama, a 404). Asked once per server per process; rejects only when the server could
 * not be reached, and then it is asked again next time.
 */
export function probeContextTokens(t: ProbeTarget): Promise<number | undefined> {
  const root = serverRoot(t.baseURL);
  let facts = servers.get(root);
  if (!facts) {
    const p = askServer(t);
    p.catch(() => servers.get(root) === p && servers.delete(root));
    servers.set(root, (facts = p));
  }
  return facts.then((f) => f.nCtx ?? f.maxModelLen.get(t.model));
}

export class EndpointContext {
  readonly ruler = new TokenRuler();
  private refused: number | undefined;

  /** `probe`: asks the server once (undefined: never ask, e.g. OpenAI's own API, which does not say). */
  constructor(private readonly probe?: () => Promise<number | undefined>) {}

  /**
   * The window to keep conversations within: the config's `contextTokens`, else what the server
   * said, and in any case no more than a refusal named (a config that claims more than the server
   * has would only get every long conversation refused).
   */
  async window(configured: number | undefined): Promise<number | undefined> {
    const stated = configured ?? (await this.stated());
    if (stated === undefined) return this.refused;
    return this.refused === undefined ? stated : Math.min(stated, this.refused);
  }

  /** A refusal named the window. */
  learnWindow(tokens: number): void {
    this.refused = this.refused === undefined ? tokens : Math.min(this.refused, tokens);
  }

  private async stated(): Promise<number | undefined> {
    // Unreachable now: the call's own request will say why it fails.
    return this.probe?.().catch(() => undefined);
  }
}

const contexts = new Map<string, EndpointContext>();

/**
 * The endpoint's shared context, one per base URL + model per process. Only servers with a base URL
 * are probed: OpenAI's own API says nothing about windows, and the probe would be wasted traffic.
 */
export function endpointContext(t: Partial<ProbeTarget> & { model: string; apiKey: string }): EndpointContext {
  // The same key as what the endpoint refuses: both are facts about one model at one server.
  const key = refusalKey(t.baseURL, t.model);
  let c = contexts.get(key);
  if (!c) {
    const { baseURL } = t;
    c = new EndpointContext(baseURL ? () => probeContextTokens({ ...t, baseURL }) : undefined);
    contexts.set(key, c);
  }
  return c;
}
