import type { ModelRef } from '../../common/config.js';
import { MissingApiKey } from '../../common/errors.js';

/** Placeholder key for keyless endpoints (vLLM, Ollama): the openai client insists on one. */
const NO_KEY = 'not-needed';

/** The API key a ref names. The error names the variable, never a value. */
export function apiKeyFor(ref: ModelRef, env: NodeJS.ProcessEnv): string {
  if (!ref.apiKeyEnv) return NO_KEY;
  const value = env[ref.apiKeyEnv];
  if (!value) throw new MissingApiKey(ref.apiKeyEnv);
  return value;
}

/** One client per model ref per worker process: clients and local weights are built once, not per activity. */
export function memoByRef<T>(build: (ref: ModelRef, env: NodeJS.ProcessEnv) => T): (ref: ModelRef, env?: NodeJS.ProcessEnv) => T {
  const built = new Map<string, T>();
  return (ref, env = process.env) => {
    const key = JSON.stringify(ref);
    let hit = built.get(key);
    if (hit === undefined) {
      hit = build(ref, env);
      built.set(key, hit);
    }
    return hit;
  };
}
