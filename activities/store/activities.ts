import type { StoreOwner } from '../../common/contracts/index.js';
import { currentTrace, inEpisodeSpan } from '../kit/tracing.js';
import { recordNoveltySearch } from '../kit/metrics.js';
import type { ModelRef } from '../../common/config.js';
import type { EpisodeSummary, TrainingExample } from '../../common/contracts/index.js';
import { examplesCollection, stripRunId } from './examples.js';
import { ensureDecontaminationSet } from './decontamination.js';
import { createStorePreflight } from './preflight.js';
import type { Embedder } from './embeddings/embedder.js';
import { activity, previousProgress, reportProgress } from '../kit/boundary.js';
import { runEmbeddingJob } from './embeddings/job.js';
import type { EpisodeRecord, Ledger } from './ledger.js';
import { collectionName, pointId } from './vector/point-id.js';
import type { VectorStore } from './vector/vector-store.js';

export interface StoreDeps {
  /** The data dir's identity (activities/store/owner.ts): a run claims it and sends its store steps to its queue. */
  owner: StoreOwner;
  store: VectorStore;
  ledger: Ledger;
  embedder(ref: ModelRef): Embedder;
  datasetsDir: string;
}

export interface Nearest {
  id: string;
  score: number;
  source: string;
  text: string;
}

type Benchmark = 'gsm8k' | 'pubmedqa' | 'none';

/** Novelty, storage, imports, decontamination and the episode ledger, on the `nanoflux` queue. Every write is keyed, so retries never duplicate. */
export function createStoreActivities(deps: StoreDeps) {
  const examples = examplesCollection;
  const decontam = (benchmark: string, e: Embedder) => collectionName('decontam', benchmark, e.id);

  async function nearestOf(collection: string, vector: number[], excludeId: string | undefined, source: (p: Record<string, unknown>) => string): Promise<Nearest | undefined> {
    const hits = await deps.store.search(collection, vector, 2);
    const hit = hits.find((h) => h.id !== excludeId);
    if (!hit) return undefined;
    return { id: String(hit.payload.id ?? hit.payload.itemId ?? hit.id), score: hit.score, source: source(hit.payload), text: String(hit.payload.question ?? hit.payload.text ?? '').slice(0, 300) };
  }

  /** Reads before it deletes: almost every episode has nothing to discard, and a read takes no write lock. */
  async function discardExample(collection: string, id: string): Promise<void> {
    if ((await deps.store.retrieve(collection, [id])).length > 0) await deps.store.delete(collection, [id]);
  }

  return {
    ...createStorePreflight(deps),

    /** Which worker a run's store steps go to: this one (the run then starts its loops and stages on this worker's queue, workflows/run.ts). */
    claimStore: activity(async (): Promise<StoreOwner> => deps.owner),

    ensureDecontamination: activity(async (a: { benchmark: Exclude<Benchmark, 'none'>; embedding: ModelRef }): Promise<{ collection: string }> => {
      const collection = await ensureDecontaminationSet(deps.store, deps.embedder(a.embedding), a.benchmark, deps.datasetsDir, { onProgress: reportProgress, resume: previousProgress() });
      return { collection };
    }),

    checkNovelty: activity(
      async (a: { domain: string; benchmark: Benchmark; embedding: ModelRef; question: string; selfKey: string }): Promise<{ nearest?: Nearest; tokens: number }> => {
        const e = deps.embedder(a.embedding);
        const { vectors, tokens } = await e.embed([a.question]);
        const v = vectors[0]!;
        const searched = Date.now();
        const candidates = [await nearestOf(examples(a.domain, e), v, pointId(a.selfKey), (p) => `run ${String((p.provenance as { runId?: string } | undefined)?.runId ?? '?')}`)];
        if (a.benchmark !== 'none') candidates.push(await nearestOf(decontam(a.benchmark, e), v, undefined, () => `${a.benchmark} test set`));
        recordNoveltySearch(Date.now() - searched, a.domain);
        const nearest = candidates.filter((c): c is Nearest => !!c).sort((x, y) => y.score - x.score)[0];
        return { nearest, tokens };
      },
    ),

    storeExample: activity(
      async (a: { example: TrainingExample; embedding: ModelRef; threshold: number }): Promise<{ id: string; duplicateOf?: Nearest }> => {
        const e = deps.embedder(a.embedding);
        const id = pointId(a.example.id);
        const collection = examples(a.example.domain, e);
        // A retry after the write landed. A different question under this id was stored by an earlier
        // execution of the episode (terminated, then reset): this execution's example replaces it.
        const [present] = await deps.store.retrieve(collection, [id]);
        if (present && present.payload.question === a.example.question) return { id };
        const { vectors } = await e.embed([a.example.question]);
        const v = vectors[0]!;
        await deps.store.ensureCollection(collection, v.length);
        const rival = await nearestOf(collection, v, id, (p) => `run ${String((p.provenance as { runId?: string } | undefined)?.runId ?? '?')}`);
        if (rival && rival.score >= a.threshold) return { id, duplicateOf: rival };
        // The trace this store step is in (its episode's, traced): a dataset row leads to its model calls.
        const t = currentTrace();
        const example = t ? { ...a.example, provenance: { ...a.example.provenance, traceId: t.traceId, spanId: t.spanId } } : a.example;
        await deps.store.upsert(collection, [{ id, vector: v, payload: { ...example, runId: a.example.provenance.runId } }]);
        return { id };
      },
    ),

    /**
     * resume-from: copies an earlier run's accepted examples of a domain into this run, under keys
     * of this run (`<run>/<domain>/from-<earlier>-<episode>`), so export, status and targets count
     * them. Idempotent (same keys on a retry). Their provenance still names the episode that made them.
     */
    importExamples: activity(async (a: { fromRunId: string; runId: string; domain: string; embedding: ModelRef }): Promise<{ imported: number }> => {
      const e = deps.embedder(a.embedding);
      const collection = examples(a.domain, e);
      // Sorted: the heartbeated cursor is a position in this list, so a retry must see the same order.
      const earlier = (await deps.store.list(collection, { runId: a.fromRunId }))
        .map((p) => stripRunId(p.payload))
        .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
        .map((r) => {
          const key = `${a.runId}/${a.domain}/from-${a.fromRunId}-${r.provenance.episode}`;
          return { r, key, id: pointId(key) };
        });
      await runEmbeddingJob({
        job: `import ${a.fromRunId} into ${a.runId}/${a.domain}`,
        items: earlier,
        embedder: e,
        // The store hands back payloads, not vectors: the questions are embedded again.
        text: (x) => x.r.question,
        pending: async (batch) => {
          const present = new Set((await deps.store.retrieve(collection, batch.map((x) => x.id))).map((p) => p.id));
          return batch.filter((x) => !present.has(x.id));
        },
        write: (batch, vectors) =>
          deps.store.upsert(
            collection,
            batch.map((x, k) => ({ id: x.id, vector: vectors[k]!, payload: { ...x.r, id: x.key, importedFrom: { runId: a.fromRunId, id: x.r.id }, runId: a.runId } })),
          ),
        onProgress: reportProgress,
        resume: previousProgress(),
      });
      return { imported: earlier.length };
    }),

    /**
     * `example` (the episode's example key and embedder): an episode that did not end accepted keeps
     * no example. One stored by an earlier execution of it (terminated after its store step, then
     * reset) would otherwise be exported without being counted.
     */
    recordEpisode: activity(async ({ example, ...r }: EpisodeRecord & { example?: { key: string; embedding: ModelRef } }): Promise<void> =>
      // The episode's end in its trace: its outcome and, accepted, its example.
      inEpisodeSpan('nanoflux.episode', { 'nanoflux.outcome': r.summary.outcome, ...(r.summary.exampleId ? { 'nanoflux.example_id': r.summary.exampleId } : {}) }, async () => {
        if (example && r.summary.outcome !== 'accepted') await discardExample(examples(r.domain, deps.embedder(example.embedding)), pointId(example.key));
        // The episode's place in its trace, so report.html links every episode, accepted or not.
        const trace = currentTrace();
        deps.ledger.record(trace ? { ...r, summary: { ...r.summary, trace } } : r);
      }),
    ),

    loadEpisodeSummary: activity(async (a: { workflowId: string }): Promise<EpisodeSummary | null> => deps.ledger.summary(a.workflowId) ?? null),
  };
}


export type StoreActivities = ReturnType<typeof createStoreActivities>;
