import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelRef } from '../../common/config.js';
import { hinted, OperationalError, UserError } from './errors.js';

/**
 * `npm run demo` arguments: which config, and which model plays the game's three roles (the
 * embedded one by default, any local GGUF in-process, or any OpenAI-compatible server). Checked
 * here, before a worker starts, so a typo is one line and not a run that retries a dead endpoint.
 */
export interface DemoArgs {
  configPath: string;
  help: boolean;
  /** `--model` without `--base-url`: a GGUF path or the alias smollm2-135m; with it, the model name at the server. */
  model?: string;
  baseURL?: string;
  apiKeyEnv?: string;
}

export const DEMO_HELP = `npm run demo -- [config.json] [--model <path.gguf>] [--base-url <url> [--model <name>] [--api-key-env VAR]]

Plays the adversarial game once, offline by default, and prints the Judge's calibration, the
rejections by reason, the executed check's tallies and every accepted example beside what its
program printed. The config defaults to configs/demo.json (npm run demo:finetune passes
configs/demo-finetune.json).

  --model <path.gguf>      play the Attacker, Defender and Judge with this GGUF, in-process
                           (node-llama-cpp, CPU); default: the embedded SmolLM2-135M (smollm2-135m)
  --base-url <url>         play them against an OpenAI-compatible server instead, e.g.
                           http://127.0.0.1:8080/v1 (llama-server), :8000/v1 (vLLM), :11434/v1 (Ollama)
  --model <name>           with --base-url: the model name at the server; default: the first
                           model the server lists at <url>/models
  --api-key-env VAR        with --base-url: the environment variable holding the server's API key;
                           without it no key is sent (local servers need none)
  -h, --help               this text

The embedding model stays the embedded one (use-lite). Recipes for llama.cpp, vLLM and Ollama:
docs/operating.md, "Play against a real model".`;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VALUED = new Set(['--model', '--base-url', '--api-key-env']);

export function parseDemoArgs(argv: string[], projectRoot: string, defaultConfig = 'demo.json'): DemoArgs {
  const got: Record<string, string> = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '-h' || flag === '--help') help = true;
    else if (VALUED.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw usage(`${flag} needs a value`);
      if (flag in got) throw usage(`${flag} is given twice`);
      got[flag] = value;
    } else if (flag.startsWith('-')) throw usage(`unknown option ${flag}`);
    else positional.push(a);
  }
  if (positional.length > 1) throw usage(`one config file at most, got ${positional.join(' ')}`);
  const args: DemoArgs = { configPath: positional[0] ?? join(projectRoot, 'configs', defaultConfig), help };
  if (got['--model'] !== undefined) args.model = got['--model'];
  if (got['--base-url'] !== undefined) args.baseURL = checkURL(got['--base-url']);
  if (got['--api-key-env'] !== undefined) {
    if (!args.baseURL) throw usage('--api-key-env goes with --base-url (the embedded and GGUF models need no key)');
    if (!ENV_NAME.test(got['--api-key-env'])) throw usage(`--api-key-env takes the NAME of an environment variable (e.g. OPENAI_API_KEY), got ${JSON.stringify(got['--api-key-env'])}`);
    args.apiKeyEnv = got['--api-key-env'];
  }
  return args;
}

const usage = (what: string): UserError => new UserError(hinted(what, 'see `npm run demo -- --help`'));

function checkURL(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usage(`--base-url ${JSON.stringify(text)} is not a URL (e.g. http://127.0.0.1:8080/v1)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usage(`--base-url must be an http:// or https:// URL, got ${u.protocol}`);
  return text.replace(/\/+$/, '');
}

/** A local model: the alias, or a readable file that starts with the GGUF magic bytes. */
export function checkGguf(model: string): string {
  if (model === 'smollm2-135m') return model;
  const path = resolve(model);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw usage(`--model ${model} is not a file (a .gguf model file, or the alias smollm2-135m)`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw usage(`--model ${model}: no such file (a .gguf model file, or the alias smollm2-135m; with --base-url, the model name at the server)`);
  }
  const magic = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 4 || magic.toString('latin1') !== 'GGUF') throw usage(`--model ${model} is not a GGUF file (it does not start with "GGUF")`);
  return path;
}

/** The server's model: the one named, or the first it lists at /models. A server that does not answer is an error here, not a run that retries. */
export async function serverModel(baseURL: string, named: string | undefined, apiKey: string | undefined): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${baseURL}/models`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    throw new OperationalError(hinted(`no server answers at ${baseURL} (${why})`, 'start it first (docs/operating.md, "Play against a real model")'));
  }
  if (named) return named;
  const listed = res.ok ? (((await res.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined)?.data ?? []) : [];
  const first = listed.map((m) => m.id).find((id): id is string => typeof id === 'string' && id !== '');
  if (!first) throw usage(`${baseURL}/models lists no model (HTTP ${res.status}); name it with --model <name>`);
  return first;
}

/** The three players' refs: the config's, with the model (and server) swapped in; each keeps its temperature. */
export async function players(args: DemoArgs, env: NodeJS.ProcessEnv): Promise<((ref: ModelRef) => ModelRef) | undefined> {
  if (args.baseURL) {
    const key = args.apiKeyEnv ? env[args.apiKeyEnv] : undefined;
    if (args.apiKeyEnv && !key) throw usage(`--api-key-env ${args.apiKeyEnv}: that environment variable is not set`);
    const model = await serverModel(args.baseURL, args.model, key);
    const { baseURL, apiKeyEnv } = args;
    return (ref) => ({ provider: 'openai', model, baseURL, ...(apiKeyEnv ? { apiKeyEnv } : {}), ...(ref.temperature !== undefined ? { temperature: ref.temperature } : {}) });
  }
  if (args.model) {
    const model = checkGguf(args.model);
    return (ref) => ({ provider: 'local', model, ...(ref.temperature !== undefined ? { temperature: ref.temperature } : {}) });
  }
  return undefined;
}

/** The raw config with the game's three roles played by `swap` (the embedding model stays). */
export function withPlayers(raw: unknown, swap: (ref: ModelRef) => ModelRef): unknown {
  const r = raw as { models: Record<'a' | 'b' | 'judge' | 'embedding', ModelRef> };
  return { ...r, models: { ...r.models, a: swap(r.models.a), b: swap(r.models.b), judge: swap(r.models.judge) } };
}
