import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorType, MissingResource, ModelError } from '../../../common/errors.js';

/**
 * The vLLM evaluation route (`evaluate.endpoint.loadAdapters`): a variant's LoRA adapter is loaded
 * into a running vLLM server at evaluation time (POST /v1/load_lora_adapter, vLLM's runtime LoRA
 * updating), so one server started before the run serves base, tuned, the baselines and every
 * ablation cut, each under its own name. The name is content-addressed (the variant and a hash of
 * the adapter's weights): a retried batch finds its adapter loaded ("already loaded" is success),
 * and an adapter retrained with other data (an ablation re-cut) is a new name, never the stale one.
 */

/** `<variant>-<12 hex of the adapter's weight files>`: what the variant is served as. */
export function adapterServedName(variant: string, adapterDir: string): string {
  const h = createHash('sha256');
  const files = existsSync(adapterDir) ? readdirSync(adapterDir).filter((f) => /^adapter_(model\.(safetensors|bin)|config\.json)$/.test(f)).sort() : [];
  if (!files.some((f) => f.startsWith('adapter_model'))) throw new MissingResource(`no LoRA adapter weights in ${adapterDir} (adapter_model.safetensors or .bin) to load into the evaluation server`);
  for (const f of files) h.update(f).update(readFileSync(join(adapterDir, f)));
  return `${variant}-${h.digest('hex').slice(0, 12)}`;
}

const ALREADY = /already (been )?loaded/i;

/**
 * Loads the adapter under `name` (idempotent). The path goes as this worker sees it: the vLLM server
 * must see the same path (the same host, or a shared filesystem mounted at the same place).
 */
export async function loadAdapter(o: { baseURL: string; apiKey?: string; name: string; adapterDir: string; signal?: AbortSignal }): Promise<'loaded' | 'already'> {
  const url = `${o.baseURL.replace(/\/+$/, '')}/load_lora_adapter`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
      body: JSON.stringify({ lora_name: o.name, lora_path: resolve(o.adapterDir) }),
      signal: o.signal ?? AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw new ModelError(ErrorType.ModelUnavailable, `loading LoRA adapter ${o.name} at ${url}: ${e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)}`, { cause: e });
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return 'loaded';
  if (res.status === 400 && ALREADY.test(text)) return 'already';
  if (res.status === 404 || res.status === 405) {
    throw new MissingResource(`${url} answered ${res.status}: the server does not load LoRA adapters at runtime. Start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora --max-lora-rank <finetune.loraR or more>, or set evaluate.endpoint.models per variant for adapters it serves already`);
  }
  if (res.status >= 500 || res.status === 429) throw new ModelError(res.status === 429 ? ErrorType.RateLimited : ErrorType.ModelUnavailable, `loading LoRA adapter ${o.name} at ${url}: HTTP ${res.status} ${text.slice(0, 300)}`, { status: res.status });
  throw new ModelError(ErrorType.ModelRequestRejected, `loading LoRA adapter ${o.name} from ${resolve(o.adapterDir)} at ${url}: HTTP ${res.status} ${text.slice(0, 300)}`, { status: res.status });
}
