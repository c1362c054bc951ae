import { basename, join } from 'node:path';
import type { ModelRef } from '../../common/config.js';
import { InvalidRunConfig } from '../../common/errors.js';
import type { CalibrationOutcome, TrainingExample } from '../../common/contracts/index.js';
import type { WebUi } from '../../common/web-ui.js';
import { activity, activityNamespace } from '../kit/boundary.js';
import { runDir, writeFileAtomic, writeJsonl } from '../kit/files.js';
import type { Embedder } from '../store/embeddings/embedder.js';
import { examplesCollection, stripRunId } from '../store/examples.js';
import type { Ledger } from '../store/ledger.js';
import type { VectorStore } from '../store/vector/vector-store.js';
import { datasetCard } from './card.js';
import { EXPORT_FORMATS, type ExportFormat, formatExample, isExportFormat } from './formats.js';
import type { RunCalibration } from './measures.js';
import { reportHtml } from './report-html.js';
import { readRunCalibration, writeRunCalibration } from './run-calibration.js';

export interface DatasetDeps {
  store: VectorStore;
  ledger: Ledger;
  embedder(ref: ModelRef): Embedder;
  home: string;
  /** The Temporal web UI that report.html links each episode to (NANOFLUX_UI_URL); no links without it. */
  webUi?: WebUi;
  /** Where report.html links each episode's trace (NANOFLUX_TRACE_URL, with `{traceId}`); ids shown unlinked without it. */
  traceUrl?: string;
}

/** The export of a run's dataset, on the `nanoflux` queue (it reads the store the run wrote). */
export function createDatasetActivities(deps: DatasetDeps) {
  return {
    /**
     * Writes `dataset.<format>.jsonl` per format, `examples.jsonl`, `episodes.jsonl`, a README (the
     * dataset card, for the first format) and `report.html` (every episode and why). Every file is
     * rewritten whole, so a retried or re-run export gives the same files, never appended ones.
     * `calibration`: the Judge's calibration as the run measured it (empty: not calibrated), kept in
     * calibration.json; without it (`nanoflux export`) the one kept there is used.
     */
    exportDataset: activity(
      async (a: { runId: string; domains: string[]; embedding: ModelRef; formats?: string[]; calibration?: CalibrationOutcome[]; judgeAccepted?: { by?: string } }): Promise<{ path: string; examples: number; episodesPath: string; files: string[] }> => {
        const formats = exportFormats(a.formats ?? ['openai']);
        const e = deps.embedder(a.embedding);
        const rows: TrainingExample[] = [];
        for (const d of a.domains) {
          const points = await deps.store.list(examplesCollection(d, e), { runId: a.runId });
          rows.push(...points.map((p) => stripRunId(p.payload)));
        }
        rows.sort((x, y) => x.domain.localeCompare(y.domain) || x.provenance.episode - y.provenance.episode);
        const episodes = deps.ledger.episodes(a.runId);
        const dir = runDir(deps.home, a.runId);

        const files = formats.map((f) => {
          const path = join(dir, `dataset.${f}.jsonl`);
          writeJsonl(path, rows.map((r) => formatExample(f, r)));
          return path;
        });
        const path = files[0]!;
        const examplesPath = join(dir, 'examples.jsonl');
        writeJsonl(examplesPath, rows);
        const episodesPath = join(dir, 'episodes.jsonl');
        writeJsonl(episodesPath, episodes);
        const calibrationPath = a.calibration ? [writeRunCalibration(dir, { calibration: a.calibration, ...(a.judgeAccepted ? { judgeAccepted: a.judgeAccepted } : {}) })] : [];
        const calibration: RunCalibration = readRunCalibration(dir);
        const readmePath = join(dir, 'README.md');
        writeFileAtomic(readmePath, datasetCard({ runId: a.runId, examples: rows, episodes, format: formats[0]!, file: basename(path), ...calibration }));
        const htmlPath = join(dir, 'report.html');
        // The namespace the run is in, when called by it (a worker may serve another than TEMPORAL_NAMESPACE names).
        const webUi = deps.webUi && { ...deps.webUi, namespace: activityNamespace() ?? deps.webUi.namespace };
        writeFileAtomic(htmlPath, reportHtml({ runId: a.runId, episodes, examples: rows, ...calibration, ...(webUi ? { webUi } : {}), ...(deps.traceUrl ? { traceUrl: deps.traceUrl } : {}) }));
        return { path, examples: rows.length, episodesPath, files: [...files, examplesPath, episodesPath, readmePath, htmlPath, ...calibrationPath] };
      },
    ),
  };
}

/** Known, deduplicated, in the order given; an unknown name fails the activity for good, since a retry cannot fix it. */
function exportFormats(requested: string[]): ExportFormat[] {
  const unknown = requested.filter((f) => !isExportFormat(f));
  if (unknown.length > 0 || requested.length === 0) {
    throw new InvalidRunConfig(`export formats must be one or more of ${EXPORT_FORMATS.join(', ')}; got ${requested.length ? unknown.map((f) => JSON.stringify(f)).join(', ') : 'none'}`);
  }
  return [...new Set(requested.filter(isExportFormat))];
}

export type DatasetActivities = ReturnType<typeof createDatasetActivities>;
