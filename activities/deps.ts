import { join } from 'node:path';
import { type NanofluxEnv, readEnv } from '../common/env.js';
import { defaultDatasetsDir } from './store/decontamination.js';
import { buildEmbedder } from './store/embeddings/build.js';
import { buildFineTuneBackend } from './stages/finetune/build.js';
import type { ActivityDeps } from './index.js';
import { closeMcpConnections } from './game/judge/mcp.js';
import { closePythonSandbox } from './game/judge/python-sandbox.js';
import { Ledger } from './store/ledger.js';
import { storeOwner } from './store/owner.js';
import { Batcher } from './game/models/batcher.js';
import { chatModelsWith } from './game/models/build.js';
import { openVectorStore } from './store/vector/open-store.js';

/** The real dependencies of every activity, from the environment: what a worker process runs with. */
export function buildActivityDeps(env: NanofluxEnv = readEnv()): ActivityDeps & { close(): Promise<void> } {
  const store = openVectorStore(env);
  const ledger = new Ledger(join(env.home, 'ledger.sqlite'));
  // Opened at the first batch-tier call: its ledger lives beside the run's data (batcher.ts).
  const batcher = new Batcher(join(env.home, 'batches.sqlite'));
  return {
    owner: storeOwner(env.home),
    store,
    ledger,
    home: env.home,
    webUi: { url: env.uiUrl, namespace: env.temporalNamespace },
    ...(env.traceUrl ? { traceUrl: env.traceUrl } : {}),
    datasetsDir: defaultDatasetsDir(env),
    chatModel: chatModelsWith(batcher),
    batcher,
    embedder: (ref) => buildEmbedder(ref),
    fineTuneBackend: (f) => buildFineTuneBackend(f),
    async close() {
      await closePythonSandbox();
      await closeMcpConnections();
      batcher.close();
      ledger.close();
      await store.close();
    },
  };
}
