import type { TrainingExample } from '../../common/contracts/index.js';
import type { Embedder } from './embeddings/embedder.js';
import { collectionName } from './vector/point-id.js';

/** A domain's accepted examples, one collection per embedder (vectors of two embedders never mix). */
export const examplesCollection = (domain: string, e: Embedder): string => collectionName('examples', domain, e.id);

/** A stored point's payload as the example it was: the `runId` filter field is the store's, not the example's. */
export function stripRunId(payload: Record<string, unknown>): TrainingExample {
  const { runId: _runId, ...rest } = payload;
  return rest as unknown as TrainingExample;
}
