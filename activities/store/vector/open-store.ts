import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv, type NanofluxEnv } from '../../../common/env.js';
import { QdrantVectorStore } from './qdrant-store.js';
import { SqliteVectorStore } from './sqlite-store.js';
import type { VectorStore } from './vector-store.js';

/** Qdrant when QDRANT_URL is set, else the embedded SQLite file under the data dir. */
export function openVectorStore(env: NanofluxEnv = readEnv()): VectorStore {
  if (env.qdrantUrl) return new QdrantVectorStore({ url: env.qdrantUrl, apiKey: env.qdrantApiKey });
  mkdirSync(env.home, { recursive: true });
  return new SqliteVectorStore(join(env.home, 'vectors.sqlite'));
}
