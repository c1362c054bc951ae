import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FineTuneContext, FineTuneJob, FineTuneProgress } from '../../activities/stages/finetune/backend.js';
import { METRICS_FILE, modelSuffix, openaiFineTuneBackend, parseResultCsv, STATE_FILE } from '../../activities/stages/finetune/openai-backend.js';
import { ErrorType, NON_RETRYABLE } from '../../common/errors.js';
import { resultCsv, startScriptedFineTune, type ScriptedFineTune, type ScriptedFineTuneOptions } from '../support/scripted-finetune.js';
import { failure } from '../support/expect-error.js';

// Key-shaped on purpose (the redaction must catch it), but built at run time: no key-like literal in the repository.
const API_KEY = ['sk', 'nanoflux', 'test', '0123456789abcdef'].join('-');
const DATA = ['{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}', '{"messages":[{"role":"user","content":"héllo"},{"role":"assistant","content":"ok"}]}'].join('\n') + '\n';
const RETRIEVE = /^GET \/fine_tuning\/jobs\/[^/]+$/;

let dir: string;

function makeJob(variant = 'tuned'): FineTuneJob {
  const dataPath = join(dir, `${variant}.jsonl`);
  writeFileSync(dataPath, DATA);
  return {
    runId: 'run-1',
    domain: 'arith',
    variant,
    dataPath,
    outDir: join(dir, 'out', variant),
    baseModel: 'gpt-4o-mini-2024-07-18',
    hyper: { epochs: 3, learningRate: 1e-4, loraR: 8, batchSize: 4, maxLength: 1024, seed: 42, saveEvery: 10 },
  };
}

function context(signal = new AbortController().signal): FineTuneContext & { beats: FineTuneProgress[] } {
  const beats: FineTuneProgress[] = [];
  return { beats, signal, heartbeat: (p) => beats.push(p) };
}


const readState = (job: FineTuneJob) => JSON.parse(readFileSync(join(job.outDir, STATE_FILE), 'utf8')) as { fileId?: string; jobId?: string };

async function withServer(opts: Partial<ScriptedFineTuneOptions>, fn: (s: ScriptedFineTune) => Promise<void>): Promise<void> {
  const s = await startScriptedFineTune({ apiKey: API_KEY, ...opts });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nanoflux-ft-openai-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('openai fine-tune backend over a scripted Files + Fine-tuning server', () => {
  let server: ScriptedFineTune;
  const backend = () => openaiFineTuneBackend({ apiKey: API_KEY, baseURL: server.baseURL, pollIntervalMs: 5, timeoutMs: 5000 });

  beforeAll(async () => {
    server = await startScriptedFineTune({ apiKey: API_KEY });
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('uploads the exact JSONL once, creates one job, polls it to success and parses the loss curve', async () => {
    const job = makeJob();
    const ctx = context();
    const r = await backend().train(job, ctx);

    const [upload, ...moreUploads] = server.uploads();
    expect(moreUploads).toEqual([]);
    expect(upload!.content.equals(readFileSync(job.dataPath))).toBe(true);
    expect(upload!).toMatchObject({ filename: 'nanoflux-run-1-arith-tuned.jsonl', purpose: 'fine-tune', bytes: Buffer.byteLength(DATA) });

    const [created, ...moreJobs] = server.jobsCreated();
    expect(moreJobs).toEqual([]);
    const createReq = server.requests.find((q) => q.method === 'POST' && q.path === '/fine_tuning/jobs')!;
    expect(createReq.body).toEqual({
      model: 'gpt-4o-mini-2024-07-18',
      training_file: upload!.id,
      suffix: 'tuned',
      seed: 42,
      metadata: { nanoflux_job: 'nanoflux:run-1/arith/tuned' },
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 3, batch_size: 4 } } },
    });
    expect(server.count(RETRIEVE)).toBe(2);
    expect(server.requests.every((q) => q.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);

    const id = created!.job.id as string;
    expect(r).toMatchObject({
      backend: 'openai',
      kind: 'remote',
      model: created!.job.fine_tuned_model,
      trainTokens: 12_345,
      wallSeconds: 600,
      steps: 4,
      firstLoss: 2.5,
      lastLoss: 0.875,
      jobId: id,
      resumedFrom: null,
    });
    expect(r.model).toMatch(/^ft:gpt-4o-mini-2024-07-18:scripted:tuned:/);
    expect(r.lossCurve).toBe(join(job.outDir, METRICS_FILE));
    const curve = readFileSync(r.lossCurve!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(curve).toEqual([
      { step: 1, loss: 2.5 },
      { step: 2, loss: 1.75 },
      { step: 3, loss: 1.25 },
      { step: 4, loss: 0.875 },
    ]);
    expect(readState(job)).toEqual({ fileId: upload!.id, jobId: id });
    expect(ctx.beats.map((b) => b.message)).toEqual([`job ${id} validating_files`, `job ${id} running`, `job ${id} succeeded`]);
    expect(ctx.beats.at(-1)).toMatchObject({ jobId: id, status: 'succeeded' });
  });

  it('a plain (not base64) result CSV and a job without a result file both work', async () => {
    server.scriptJobs({ plainCsv: true, losses: [3, 1] });
    const r = await backend().train(makeJob('plain'), context());
    expect(r).toMatchObject({ steps: 2, firstLoss: 3, lastLoss: 1 });

    server.scriptJobs({ losses: [] });
    const bare = await backend().train(makeJob('bare'), context());
    expect(bare).toMatchObject({ steps: null, firstLoss: null, lastLoss: null, trainTokens: 12_345 });
    expect(bare.lossCurve).toBeUndefined();
  });

  it('a failed job → FineTuneFailed (non-retryable) with the provider message', async () => {
    server.scriptJobs({ statuses: ['validating_files', 'failed'] });
    const e = await failure(backend().train(makeJob(), context()));
    const id = server.jobsCreated()[0]!.job.id as string;
    expect(e.type).toBe(ErrorType.FineTuneFailed);
    expect(e.message).toBe(`fine-tune job ${id} failed: training file has too few examples`);
    expect(NON_RETRYABLE).toContain(e.type);
  });

  it('a cancelled job → FineTuneFailed', async () => {
    server.scriptJobs({ statuses: ['queued', 'cancelled'] });
    const e = await failure(backend().train(makeJob(), context()));
    expect(e.type).toBe(ErrorType.FineTuneFailed);
    expect(e.message).toMatch(/failed: cancelled$/);
  });

  it('429 with Retry-After on create → RateLimited with retryAfterMs; the retry reuses the upload', async () => {
    const job = makeJob();
    server.failNext('POST /fine_tuning/jobs', 429, { headers: { 'retry-after': '7' }, message: 'Rate limit reached for fine-tuning jobs' });
    const e = await failure(backend().train(job, context()));
    expect(e).toMatchObject({ type: ErrorType.RateLimited, retryAfterMs: 7000, status: 429 });
    expect(readState(job)).toEqual({ fileId: server.uploads()[0]!.id });

    const r = await backend().train(job, context());
    expect(server.uploads()).toHaveLength(1);
    expect(server.jobsCreated()).toHaveLength(1);
    expect(r.resumedFrom).toBeNull();
  });

  it('5xx on retrieve → ModelUnavailable (retryable); 4xx → ModelRequestRejected', async () => {
    server.failNext(RETRIEVE, 503);
    const e = await failure(backend().train(makeJob('a'), context()));
    expect(e).toMatchObject({ type: ErrorType.ModelUnavailable, status: 503 });
    expect(NON_RETRYABLE).not.toContain(e.type);

    server.failNext('POST /files', 400, { message: 'invalid file format' });
    const rejected = await failure(backend().train(makeJob('b'), context()));
    expect(rejected).toMatchObject({ type: ErrorType.ModelRequestRejected, status: 400 });
  });

  it('resumes from the state file: retrieves the job, lists nothing, uploads and creates nothing', async () => {
    const job = makeJob();
    server.failNext(RETRIEVE, 500);
    await failure(backend().train(job, context()));
    const id = readState(job).jobId!;
    const before = { lists: server.count('GET /fine_tuning/jobs') + server.count('GET /files'), uploads: server.count('POST /files'), creates: server.count('POST /fine_tuning/jobs') };

    const r = await backend().train(job, context());
    expect(r).toMatchObject({ jobId: id, resumedFrom: id });
    expect(server.count('GET /fine_tuning/jobs') + server.count('GET /files')).toBe(before.lists);
    expect(server.count('POST /files')).toBe(before.uploads);
    expect(server.count('POST /fine_tuning/jobs')).toBe(before.creates);
    expect(server.jobsCreated()).toHaveLength(1);
  });

  it('a crash between upload and create (no state file) finds the uploaded file by name and size', async () => {
    const job = makeJob();
    server.failNext('POST /fine_tuning/jobs', 500);
    await failure(backend().train(job, context()));
    rmSync(join(job.outDir, STATE_FILE));
    // Same bytes, another variant, uploaded later (so newer): its file must not be taken.
    await backend().train(makeJob('other'), context());

    const r = await backend().train(job, context());
    const [mine, other] = server.uploads();
    expect(server.uploads()).toHaveLength(2);
    expect(other!.filename).toBe('nanoflux-run-1-arith-other.jsonl');
    expect(server.jobsCreated()).toHaveLength(2);
    expect(server.jobsCreated()[1]!.job.training_file).toBe(mine!.id);
    expect(r.resumedFrom).toBeNull();
  });

  it('a dataset changed since the crashed upload (same name, other size) is uploaded again', async () => {
    const job = makeJob();
    server.failNext('POST /fine_tuning/jobs', 500);
    await failure(backend().train(job, context()));
    rmSync(join(job.outDir, STATE_FILE));
    writeFileSync(job.dataPath, DATA + DATA);

    await backend().train(job, context());
    const [, second] = server.uploads();
    expect(second!.bytes).toBe(2 * Buffer.byteLength(DATA));
    expect(server.jobsCreated()).toHaveLength(1);
    expect(server.jobsCreated()[0]!.job.training_file).toBe(second!.id);
  });

  it('with several live jobs under its key (no state file), the newest is reused', async () => {
    const key = { nanoflux_job: 'nanoflux:run-1/arith/tuned' };
    server.seedJob({ statuses: ['running', 'succeeded'], metadata: key });
    const newest = server.seedJob({ statuses: ['running', 'succeeded'], metadata: key });
    server.seedJob({ statuses: ['cancelled'], metadata: key });
    const r = await backend().train(makeJob(), context());
    expect(r).toMatchObject({ jobId: newest.job.id, resumedFrom: newest.job.id });
    expect(server.count('POST /files') + server.count('POST /fine_tuning/jobs')).toBe(0);
  });

  it('a state file whose file was deleted at the provider → uploads again', async () => {
    const job = makeJob();
    mkdirSync(job.outDir, { recursive: true });
    writeFileSync(join(job.outDir, STATE_FILE), JSON.stringify({ fileId: 'file-gone' }));
    const r = await backend().train(job, context());
    expect(server.uploads()).toHaveLength(1);
    expect(server.jobsCreated()[0]!.job.training_file).toBe(server.uploads()[0]!.id);
    expect(r.model).toMatch(/^ft:/);
  });

  it('an abort during polling ends the wait promptly, keeps the state, and cancels nothing remotely', async () => {
    server.scriptJobs({ statuses: ['validating_files', 'running'] });
    const job = makeJob();
    const ac = new AbortController();
    const ctx = context(ac.signal);
    const slow = openaiFineTuneBackend({ apiKey: API_KEY, baseURL: server.baseURL, pollIntervalMs: 60_000 });
    const p = slow.train(job, ctx);
    await expect.poll(() => ctx.beats.length).toBeGreaterThan(0);
    const t0 = Date.now();
    ac.abort(new Error('activity cancelled'));
    await expect(p).rejects.toThrow('activity cancelled');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(readState(job).jobId).toBe(server.jobsCreated()[0]!.job.id);
    expect(server.requests.some((q) => q.path.endsWith('/cancel'))).toBe(false);
  });

  it('an abort with no reason still rejects promptly', async () => {
    server.scriptJobs({ statuses: ['running'] });
    const ac = new AbortController();
    const ctx = context(ac.signal);
    const p = openaiFineTuneBackend({ apiKey: API_KEY, baseURL: server.baseURL, pollIntervalMs: 60_000 }).train(makeJob(), ctx);
    await expect.poll(() => ctx.beats.length).toBeGreaterThan(0);
    const t0 = Date.now();
    ac.abort();
    await expect(p).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('the API key never reaches the state file, the heartbeats or error messages', async () => {
    const job = makeJob();
    const ctx = context();
    await backend().train(job, ctx);
    expect(readFileSync(join(job.outDir, STATE_FILE), 'utf8')).not.toContain(API_KEY);
    expect(JSON.stringify(ctx.beats)).not.toContain(API_KEY);

    const wrongKey = ['sk', 'wrong', 'key', 'abcdef0123456789'].join('-');
    const denied = await failure(openaiFineTuneBackend({ apiKey: wrongKey, baseURL: server.baseURL, pollIntervalMs: 5 }).train(makeJob('denied'), context()));
    expect(server.requests.at(-1)!.status).toBe(401);
    expect(denied.type).toBe(ErrorType.ModelRequestRejected);
    expect(denied.message).not.toContain(wrongKey);
    // Nor anywhere a logger might look: the provider's error object is not kept as the cause.
    expect(denied.cause).toBeUndefined();

    server.failNext('POST /files', 500, { message: `upstream echoed Authorization: Bearer ${API_KEY}` });
    const echoed = await failure(backend().train(makeJob('echo'), context()));
    expect(echoed.message).toContain('[redacted]');
    expect(echoed.message).not.toContain(API_KEY);
    expect(echoed.cause).toBeUndefined();
  });

  it('a missing dataset → MissingResource before any upload', async () => {
    const job = { ...makeJob(), dataPath: join(dir, 'nope.jsonl') };
    const e = await failure(backend().train(job, context()));
    expect(e.type).toBe(ErrorType.MissingResource);
    expect(server.count('POST /files')).toBe(0);
  });
});

describe.each<[string, Partial<ScriptedFineTuneOptions>]>([
  ['a server that filters on metadata', {}],
  ['a paginating server that ignores the metadata filter', { maxPageSize: 2, ignoreMetadataFilter: true }],
])('a crash between create and poll, on %s', (_name, opts) => {
  it('the next attempt finds the job by listing: one upload, one job, resumedFrom = its id', async () => {
    await withServer(opts, async (server) => {
      const backend = openaiFineTuneBackend({ apiKey: API_KEY, baseURL: server.baseURL, pollIntervalMs: 5 });
      const job = makeJob();
      server.failNext(RETRIEVE, 500);
      const e = await failure(backend.train(job, context()));
      expect(e.type).toBe(ErrorType.ModelUnavailable);
      const id = readState(job).jobId!;
      // The process died before its state write: as far as the next attempt knows, nothing was created.
      rmSync(join(job.outDir, STATE_FILE));
      // Newer jobs in front of ours: another run's, and a failed one with our key that must not be reused.
      server.seedJob({ statuses: ['failed'], metadata: { nanoflux_job: 'nanoflux:run-1/arith/tuned' } });
      for (let i = 0; i < 5; i++) server.seedJob({ statuses: ['running'], metadata: { nanoflux_job: `nanoflux:run-${i + 2}/arith/tuned` } });
      server.seedJob({ statuses: ['succeeded'] });

      const r = await backend.train(job, context());
      expect(server.uploads()).toHaveLength(1);
      expect(server.jobsCreated()).toHaveLength(1);
      expect(r).toMatchObject({ jobId: id, resumedFrom: id, model: expect.stringMatching(/^ft:/) });
      expect(readState(job)).toEqual({ fileId: server.uploads()[0]!.id, jobId: id });
      const lists = server.requests.filter((q) => q.method === 'GET' && q.path === '/fine_tuning/jobs');
      expect(lists[0]!.query).toEqual({ 'metadata[nanoflux_job]': 'nanoflux:run-1/arith/tuned', limit: '100' });
      // 9 jobs, 2 a page, ours the oldest: every page is read.
      if (opts.maxPageSize) expect(lists.map((q) => q.query.after ?? null)).toHaveLength(5);
    });
  });
});

describe('helpers', () => {
  it('parses the result CSV plain and base64-encoded, skipping rows without a train loss', () => {
    const csv = resultCsv([2, 1]) + '3,,0.5,,\n';
    expect(parseResultCsv(csv)).toEqual([
      { step: 1, loss: 2 },
      { step: 2, loss: 1 },
    ]);
    expect(parseResultCsv(Buffer.from(csv).toString('base64'))).toEqual(parseResultCsv(csv));
    expect(parseResultCsv('epoch,accuracy\n1,0.5\n')).toEqual([]);
  });

  it('keeps the model suffix short and provider-safe', () => {
    expect(modelSuffix('ablation-complexity-3')).toBe('abl-cx-3');
    expect(modelSuffix('ablation-quality-L4-s10')).toBe('abl-q-l4-s10');
    expect(modelSuffix('Full Train!')).toBe('full-train');
    expect(modelSuffix('---')).toBe('nanoflux');
  });
});
