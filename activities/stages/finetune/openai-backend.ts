import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI, { toFile } from 'openai';
import type { FineTuningJob } from 'openai/resources/fine-tuning/jobs/jobs';
import { ErrorType, FineTuneFailed, MissingResource, ModelError, NanofluxError } from '../../../common/errors.js';
import { fromOpenAIError } from '../../kit/errors.js';
import type { FineTuneResult } from '../../../common/contracts/index.js';
import type { FineTuneBackend, FineTuneContext, FineTuneJob } from './backend.js';

/**
 * Fine-tuning through the OpenAI API (or a compatible server). The activity that calls this may be
 * retried after a worker crash at any point, so every create is preceded by a lookup: first the
 * local state file, then the provider's own lists (job metadata, file name and size). A crash
 * between any two steps costs a repeated list call, not a second upload or a second paid job
 * (two attempts running at the same time could still both create: nothing here locks).
 */

export interface OpenAIFineTuneOptions {
  apiKey: string;
  baseURL?: string;
  /** Between two job retrieves; remote jobs take minutes to hours, so the default is 30 s. */
  pollIntervalMs?: number;
  /** Per HTTP request (not the whole job: the activity's own timeout bounds that). */
  timeoutMs?: number;
}

export const STATE_FILE = 'openai-job.json';
export const METRICS_FILE = 'metrics.jsonl';
const JOB_KEY = 'nanoflux_job';

interface JobState {
  fileId?: string;
  jobId?: string;
}

type Status = FineTuningJob['status'];
const DEAD: Status[] = ['failed', 'cancelled'];
const DONE: Status[] = ['succeeded', ...DEAD];

export const jobKey = (job: Pick<FineTuneJob, 'runId' | 'domain' | 'variant'>) => `nanoflux:${job.runId}/${job.domain}/${job.variant}`;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
export const uploadName = (job: FineTuneJob) => `nanoflux-${safe(job.runId)}-${safe(job.domain)}-${safe(job.variant)}.jsonl`;

/**
 * Older models cap the suffix at 18 characters; staying under it works everywhere. Ablation names
 * are shortened first (ablation-complexity-3-s2 → abl-cx-3-s2), so the cut and the seed survive the cap.
 */
export function modelSuffix(variant: string): string {
  const short = variant.replace(/^ablation-(complexity|quality|size|annotation)-/, (_, axis: string) => `abl-${({ complexity: 'cx', quality: 'q', size: 'n', annotation: 'an' } as Record<string, string>)[axis]}-`);
  const s = short.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 18).replace(/^-+|-+$/g, '');
  return s || 'nanoflux';
}

export function openaiFineTuneBackend(opts: OpenAIFineTuneOptions): FineTuneBackend {
  // maxRetries 0: Temporal owns retries, so every attempt is visible in the workflow history.
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs ?? 120_000 });
  const pollIntervalMs = opts.pollIntervalMs ?? 30_000;
  return { name: 'openai', train: (job, ctx) => train(client, pollIntervalMs, job, ctx) };
}

async function train(client: OpenAI, pollIntervalMs: number, job: FineTuneJob, ctx: FineTuneContext): Promise<FineTuneResult> {
  const started = Date.now();
  const { signal } = ctx;
  await mkdir(job.outDir, { recursive: true });
  const existing = await findExisting(client, job, signal);
  const resumedFrom = existing ? existing.id : null;
  let ft = existing ?? (await start(client, job, signal));

  for (;;) {
    ctx.heartbeat({ message: `job ${ft.id} ${ft.status}`, jobId: ft.id, status: ft.status });
    if (DONE.includes(ft.status)) break;
    await wait(pollIntervalMs, signal);
    const id = ft.id;
    ft = await guarded(signal, () => client.fineTuning.jobs.retrieve(id, { signal }));
  }

  if (ft.status !== 'succeeded' || !ft.fine_tuned_model) {
    const why = ft.error?.message ?? (ft.status === 'succeeded' ? 'succeeded without a fine_tuned_model' : ft.status);
    throw new FineTuneFailed(`fine-tune job ${ft.id} failed: ${why}`);
  }

  const curve = await lossCurve(client, ft, job.outDir, signal);
  const remoteSeconds = ft.finished_at && ft.created_at ? ft.finished_at - ft.created_at : null;
  return {
    backend: 'openai',
    kind: 'remote',
    model: ft.fine_tuned_model,
    trainTokens: ft.trained_tokens ?? null,
    wallSeconds: remoteSeconds !== null && remoteSeconds >= 0 ? remoteSeconds : (Date.now() - started) / 1000,
    steps: curve.steps,
    firstLoss: curve.firstLoss,
    lastLoss: curve.lastLoss,
    ...(curve.path ? { lossCurve: curve.path } : {}),
    jobId: ft.id,
    resumedFrom,
  };
}

/** The job an earlier attempt started: by the state file, else by the key in the provider's job list. */
async function findExisting(client: OpenAI, job: FineTuneJob, signal: AbortSignal): Promise<FineTuningJob | undefined> {
  const statePath = join(job.outDir, STATE_FILE);
  const { jobId } = await readState(statePath);
  if (jobId) return guarded(signal, () => client.fineTuning.jobs.retrieve(jobId, { signal }));
  // No job id on disk: the previous attempt may have died between create and the state write.
  const found = await guarded(signal, () => findJob(client, jobKey(job), signal));
  if (found) await writeState(statePath, { fileId: found.training_file, jobId: found.id });
  return found;
}

/** Upload (unless an earlier upload is found) and create; the state file is written after each step. */
async function start(client: OpenAI, job: FineTuneJob, signal: AbortSignal): Promise<FineTuningJob> {
  const statePath = join(job.outDir, STATE_FILE);
  const known = (await readState(statePath)).fileId;
  const fileId = await guarded(signal, () => ensureFile(client, job, known, signal));
  await writeState(statePath, { fileId });
  const created = await guarded(signal, () =>
    client.fineTuning.jobs.create(
      {
        model: job.baseModel,
        training_file: fileId,
        suffix: modelSuffix(job.variant),
        seed: job.hyper.seed,
        metadata: { [JOB_KEY]: jobKey(job) },
        method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: job.hyper.epochs, batch_size: job.hyper.batchSize } } },
      },
      { signal },
    ),
  );
  await writeState(statePath, { fileId, jobId: created.id });
  return created;
}

/** Client errors become the shared failure types; an abort stays an abort (the activity was cancelled). */
async function guarded<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (signal.aborted) throw abortReason(signal);
    // Already typed (the dataset read inside ensureFile): not a provider error.
    if (e instanceof NanofluxError) throw e;
    throw fromOpenAIError(e);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(`fine-tune wait aborted: ${String(signal.reason)}`);
}

async function wait(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw abortReason(signal);
  }
}

/** Newest live job carrying our key. Filtered here too: not every compatible server honours `metadata[...]`. */
async function findJob(client: OpenAI, key: string, signal: AbortSignal): Promise<FineTuningJob | undefined> {
  let best: FineTuningJob | undefined;
  for await (const j of client.fineTuning.jobs.list({ metadata: { [JOB_KEY]: key }, limit: 100 }, { signal })) {
    if (j.metadata?.[JOB_KEY] !== key || DEAD.includes(j.status)) continue;
    if (!best || j.created_at > best.created_at) best = j;
  }
  return best;
}

/** The state file's id if it still exists, else a matching earlier upload, else a new upload. */
async function ensureFile(client: OpenAI, job: FineTuneJob, known: string | undefined, signal: AbortSignal): Promise<string> {
  if (known && (await fileStillThere(client, known, signal))) return known;
  const data = await readDataset(job.dataPath);
  const filename = uploadName(job);
  const found = await findFile(client, filename, data.length, signal);
  if (found) return found;
  const file = await toFile(data, filename, { type: 'application/jsonl' });
  return (await client.files.create({ file, purpose: 'fine-tune' }, { signal })).id;
}

/** Fine-tune files cannot be downloaded to compare contents, so name and byte size must do. */
async function findFile(client: OpenAI, filename: string, bytes: number, signal: AbortSignal): Promise<string | undefined> {
  let best: OpenAI.Files.FileObject | undefined;
  for await (const f of client.files.list({ purpose: 'fine-tune' }, { signal })) {
    if (f.filename !== filename || f.bytes !== bytes || f.status === 'error') continue;
    if (!best || f.created_at > best.created_at) best = f;
  }
  return best?.id;
}

/** A file id from the state file may have been deleted since; then it is uploaded again. */
async function fileStillThere(client: OpenAI, fileId: string, signal: AbortSignal): Promise<boolean> {
  try {
    await client.files.retrieve(fileId, { signal });
    return true;
  } catch (e) {
    if (e instanceof OpenAI.NotFoundError) return false;
    throw e;
  }
}

async function readDataset(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new MissingResource(`fine-tune dataset ${path} is unreadable: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readState(path: string): Promise<JobState> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const v = JSON.parse(raw) as JobState;
    return { ...(typeof v.fileId === 'string' ? { fileId: v.fileId } : {}), ...(typeof v.jobId === 'string' ? { jobId: v.jobId } : {}) };
  } catch {
    // Unreadable state is not fatal: the provider's lists are the fallback.
    return {};
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

const writeState = (path: string, state: JobState) => writeAtomic(path, `${JSON.stringify(state)}\n`);

interface Curve {
  steps: number | null;
  firstLoss: number | null;
  lastLoss: number | null;
  path?: string;
}

async function lossCurve(client: OpenAI, ft: FineTuningJob, outDir: string, signal: AbortSignal): Promise<Curve> {
  const none: Curve = { steps: null, firstLoss: null, lastLoss: null };
  const fileId = ft.result_files?.[0];
  if (!fileId) return none;
  let text: string;
  try {
    text = await guarded(signal, async () => (await client.files.content(fileId, { signal })).text());
  } catch (e) {
    // The model exists; a result file the provider refuses to serve must not fail the whole fine-tune.
    if (e instanceof ModelError && e.type === ErrorType.ModelRequestRejected) return none;
    throw e;
  }
  const points = parseResultCsv(text);
  if (points.length === 0) return none;
  const path = join(outDir, METRICS_FILE);
  await writeAtomic(path, points.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return { steps: points[points.length - 1]!.step, firstLoss: points[0]!.loss, lastLoss: points[points.length - 1]!.loss, path };
}

/** OpenAI serves the result CSV base64-encoded; compatible servers may serve it plain. */
export function parseResultCsv(content: string): Array<{ step: number; loss: number }> {
  let text = content.trim();
  if (!text.includes(',') && /^[A-Za-z0-9+/=\s]+$/.test(text)) text = Buffer.from(text, 'base64').toString('utf8').trim();
  const [header, ...rows] = text.split(/\r?\n/);
  const cols = (header ?? '').split(',').map((c) => c.trim());
  const si = cols.indexOf('step');
  const li = cols.indexOf('train_loss');
  if (si < 0 || li < 0) return [];
  const points: Array<{ step: number; loss: number }> = [];
  for (const row of rows) {
    const cells = row.split(',');
    const step = Number(cells[si]);
    const raw = cells[li]?.trim();
    const loss = Number(raw);
    if (!raw || !Number.isFinite(step) || !Number.isFinite(loss)) continue;
    points.push({ step, loss });
  }
  return points;
}
