import type { FineTuneConfig } from '../../../common/config.js';
import { MissingApiKey } from '../../../common/errors.js';
import type { FineTuneBackend } from './backend.js';
import { commandFineTuneBackend } from './command-backend.js';
import { localFineTuneBackend } from './local-backend.js';
import { openaiFineTuneBackend } from './openai-backend.js';

/** The backend a run's `finetune` section names; the OpenAI key is read here, on the worker, never from a workflow. */
export function buildFineTuneBackend(f: FineTuneConfig, env: NodeJS.ProcessEnv = process.env): FineTuneBackend {
  switch (f.backend) {
    case 'local':
      return localFineTuneBackend({ env });
    case 'command':
      return commandFineTuneBackend(f.command ?? []);
    case 'openai': {
      const apiKey = env[f.apiKeyEnv];
      if (!apiKey) throw new MissingApiKey(f.apiKeyEnv);
      return openaiFineTuneBackend({ apiKey, ...(f.baseURL ? { baseURL: f.baseURL } : {}) });
    }
  }
}
