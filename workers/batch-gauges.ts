import { Runtime } from '@temporalio/worker';
import type { Batcher } from '../activities/game/models/batcher.js';

/** How often the batch gauges are read from the batcher's ledger: a scrape interval's order, a few cheap SQLite reads. */
const EVERY_MS = 5_000;

/**
 * The batch tier's gauges (issue 17): jobs at the provider not ended yet and requests waiting for a
 * job, by endpoint host and model, set from this data dir's batcher every 5 s while the workers run.
 * Through the runtime's meter, so exported at NANOFLUX_METRICS_ADDR beside the rest; a no-op without it.
 */
export function watchBatches(batcher: Pick<Batcher, 'pending'> | undefined): () => void {
  if (!batcher) return () => undefined;
  const meter = Runtime.instance().metricMeter;
  const jobs = meter.createGauge('nanoflux_batch_jobs_pending', 'int', '1', 'Batch API jobs created and not ended yet');
  const queued = meter.createGauge('nanoflux_batch_requests_queued', 'int', '1', 'Batch-tier requests waiting to be sent in a job');
  const timer = setInterval(() => {
    try {
      for (const p of batcher.pending()) {
        jobs.set(p.jobs, { endpoint: p.endpoint, model: p.model });
        queued.set(p.queued, { endpoint: p.endpoint, model: p.model });
      }
    } catch {
      // The ledger closed under it (shutdown): nothing to report.
    }
  }, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
