export interface Embedding {
  vectors: number[][];
  /** Tokens billed, where the provider reports them (0 for the embedded encoder). */
  tokens: number;
}

export interface Embedder {
  /** `provider:model`; part of the collection name, so vectors of different models never mix. */
  readonly id: string;
  /** The most texts one request should carry (long jobs start there and halve on a timeout); none: the job's default. */
  readonly maxBatch?: number;
  embed(texts: string[]): Promise<Embedding>;
}
