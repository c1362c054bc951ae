import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server that speaks enough of the OpenAI Files and Fine-tuning API for the production
 * client: uploads (multipart), listing with cursor pagination, jobs that advance one status per
 * retrieve, and a result CSV on success. Tests script failures per request and count what was
 * created, so "exactly one upload, exactly one job" after a crash is something they can assert.
 */

export type JobStatus = 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobScript {
  /** The status on create, then one step per retrieve; the last one sticks. */
  statuses: JobStatus[];
  error: { code: string; message: string; param: string | null };
  trainedTokens: number;
  /** One result-CSV row per loss; empty → no result file. */
  losses: number[];
  /** OpenAI serves result files base64-encoded; `true` serves the CSV as is. */
  plainCsv: boolean;
  durationSeconds: number;
}

const DEFAULT_SCRIPT: JobScript = {
  statuses: ['validating_files', 'running', 'succeeded'],
  error: { code: 'invalid_training_file', message: 'training file has too few examples', param: 'training_file' },
  trainedTokens: 12_345,
  losses: [2.5, 1.75, 1.25, 0.875],
  plainCsv: false,
  durationSeconds: 600,
};

export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  content: Buffer;
  created_at: number;
  /** True for files uploaded through POST /files (not result files, not seeded ones). */
  uploaded: boolean;
}

export interface StoredJob {
  job: Record<string, any> & { id: string; created_at: number };
  script: JobScript;
  step: number;
  /** True for jobs created through POST /fine_tuning/jobs. */
  created: boolean;
}

export interface FtRequest {
  method: string;
  /** Path without the /v1 prefix or the query. */
  path: string;
  query: Record<string, string>;
  at: number;
  headers: IncomingMessage['headers'];
  body: any;
  status: number;
}

/** `"POST /fine_tuning/jobs"` exactly, or a regex tested against `"METHOD /path"`. */
export type Matcher = string | RegExp;

export interface ScriptedFineTune {
  baseURL: string;
  requests: FtRequest[];
  files: StoredFile[];
  jobs: StoredJob[];
  /** Requests that matched (failed ones included). */
  count(match: Matcher): number;
  uploads(): StoredFile[];
  jobsCreated(): StoredJob[];
  /** The next matching request gets this status (e.g. 429 with `retry-after`, or 500). */
  failNext(match: Matcher, status: number, opts?: { headers?: Record<string, string>; message?: string }): void;
  /** Applies to jobs created from now on. */
  scriptJobs(script: Partial<JobScript>): void;
  /** A job that exists before the test (another run's, or an earlier attempt's). */
  seedJob(job: { metadata?: Record<string, string>; statuses: JobStatus[]; model?: string }): StoredJob;
  reset(): void;
  close(): Promise<void>;
}

export interface ScriptedFineTuneOptions {
  apiKey: string;
  /** Caps `limit` so tests exercise pagination. */
  maxPageSize?: number;
  /** Like some compatible servers: `metadata[...]` on the job list is ignored. */
  ignoreMetadataFilter?: boolean;
}

const matches = (m: Matcher, line: string) => (typeof m === 'string' ? m === line : m.test(line));

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Just enough multipart/form-data for the client's uploads: named fields, one of them a file. */
export function parseMultipart(body: Buffer, contentType: string): Map<string, { filename?: string; data: Buffer }> {
  const parts = new Map<string, { filename?: string; data: Buffer }>();
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return parts;
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // CRLF after the delimiter, CRLF before the next
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    const name = /;\s*name="([^"]*)"/i.exec(head)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(head)?.[1];
    if (name !== undefined) parts.set(name, { ...(filename !== undefined ? { filename } : {}), data: part.subarray(split + 4) });
    pos = next;
  }
  return parts;
}

export function resultCsv(losses: number[]): string {
  const rows = losses.map((l, i) => `${i + 1},${l},0.5,,`);
  return ['step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy', ...rows].join('\n') + '\n';
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${Math.random().toString(36).slice(2, 10)}`, ...headers });
  res.end(JSON.stringify(body));
}

const apiError = (message: string, type = 'invalid_request_error', code: string | null = null) => ({ error: { message, type, param: null, code } });

/** Newest first, `after` a cursor id, `limit` capped; the shape CursorPage reads. */
function page<T extends { id: string }>(items: T[], query: Record<string, string>, maxPageSize: number) {
  const start = query.after ? items.findIndex((i) => i.id === query.after) + 1 : 0;
  const limit = Math.min(Number(query.limit) || 20, maxPageSize);
  const data = items.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < items.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** What the server keeps between requests. */
interface FtState {
  opts: ScriptedFineTuneOptions;
  requests: FtRequest[];
  files: StoredFile[];
  jobs: StoredJob[];
  failures: Array<{ match: Matcher; status: number; headers: Record<string, string>; message?: string }>;
  /** Applies to jobs created from now on. */
  script: JobScript;
  seq: number;
}

// A fake clock a minute apart per object: "newest" is never a tie.
const tick = (state: FtState) => 1_700_000_000 + ++state.seq * 60;

const fileObject = (f: StoredFile) => ({ id: f.id, object: 'file', bytes: f.bytes, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status: 'processed' });

function addJob(state: FtState, body: Record<string, any>, s: JobScript, created: boolean): StoredJob {
  const id = `ftjob-${(++state.seq).toString(36).padStart(6, '0')}`;
  const job = {
    id,
    object: 'fine_tuning.job',
    created_at: tick(state),
    error: null,
    fine_tuned_model: null,
    finished_at: null,
    hyperparameters: body.method?.supervised?.hyperparameters ?? {},
    model: body.model ?? 'gpt-4o-mini-2024-07-18',
    organization_id: 'org-scripted',
    result_files: [] as string[],
    seed: body.seed ?? 0,
    status: s.statuses[0]!,
    trained_tokens: null,
    training_file: body.training_file ?? 'file-seeded',
    validation_file: null,
    metadata: body.metadata ?? null,
    method: body.method ?? { type: 'supervised' },
    user_provided_suffix: body.suffix ?? null,
  };
  const stored = { job, script: s, step: 0, created };
  state.jobs.push(stored);
  return stored;
}

function advance(state: FtState, j: StoredJob): void {
  if (j.step >= j.script.statuses.length - 1) return;
  const status = j.script.statuses[++j.step]!;
  j.job.status = status;
  if (status === 'succeeded') {
    j.job.fine_tuned_model = `ft:${j.job.model}:scripted:${j.job.user_provided_suffix ?? 'x'}:${j.job.id.slice(-6)}`;
    j.job.trained_tokens = j.script.trainedTokens;
    j.job.finished_at = j.job.created_at + j.script.durationSeconds;
    if (j.script.losses.length > 0) {
      const csv = resultCsv(j.script.losses);
      const content = Buffer.from(j.script.plainCsv ? csv : Buffer.from(csv).toString('base64'));
      const f = { id: `file-${(++state.seq).toString(36)}`, filename: 'step_metrics.csv', purpose: 'fine-tune-results', bytes: content.length, content, created_at: tick(state), uploaded: false };
      state.files.push(f);
      j.job.result_files = [f.id];
    }
  } else if (status === 'failed') {
    j.job.error = j.script.error;
    j.job.finished_at = j.job.created_at + j.script.durationSeconds;
  }
}

async function route(state: FtState, req: IncomingMessage, res: ServerResponse, r: FtRequest, raw: Buffer): Promise<[number, unknown, Record<string, string>?]> {
  const { opts, files, jobs, failures } = state;
  const maxPageSize = opts.maxPageSize ?? 10_000;
  const line = `${r.method} ${r.path}`;
  const fail = failures.findIndex((f) => matches(f.match, line));
  if (fail >= 0) {
    const [f] = failures.splice(fail, 1);
    return [f!.status, apiError(f!.message ?? `scripted HTTP ${f!.status}`, 'scripted'), f!.headers];
  }
  if (req.headers.authorization !== `Bearer ${opts.apiKey}`) {
    // Echoes what it was sent, as providers' messages sometimes do: callers must redact it.
    return [401, apiError(`Incorrect API key provided: ${String(req.headers.authorization).replace(/^Bearer /, '')}`, 'invalid_request_error', 'invalid_api_key')];
  }
  const byNewest = <T extends { created_at: number }>(xs: T[]) => [...xs].sort((a, b) => b.created_at - a.created_at);

  if (line === 'POST /files') {
    const parts = parseMultipart(raw, req.headers['content-type'] ?? '');
    const file = parts.get('file');
    const purpose = parts.get('purpose')?.data.toString('utf8');
    if (!file || !purpose) return [400, apiError('file and purpose are required')];
    r.body = { filename: file.filename, purpose, bytes: file.data.length };
    const f = { id: `file-${(++state.seq).toString(36)}`, filename: file.filename ?? 'upload', purpose, bytes: file.data.length, content: file.data, created_at: tick(state), uploaded: true };
    files.push(f);
    return [200, fileObject(f)];
  }
  if (line === 'GET /files') {
    const pool = r.query.purpose ? files.filter((f) => f.purpose === r.query.purpose) : files;
    return [200, page(byNewest(pool).map(fileObject), r.query, maxPageSize)];
  }
  let m = /^GET \/files\/([^/]+)(\/content)?$/.exec(line);
  if (m) {
    const f = files.find((x) => x.id === m![1]);
    if (!f) return [404, apiError(`No such File object: ${m[1]}`)];
    if (!m[2]) return [200, fileObject(f)];
    // As OpenAI does: training files cannot be downloaded again.
    if (f.purpose === 'fine-tune') return [400, apiError('Not allowed to download files of purpose: fine-tune')];
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(f.content);
    return [200, undefined];
  }
  if (line === 'POST /fine_tuning/jobs') {
    if (!files.some((f) => f.id === r.body?.training_file)) return [400, apiError(`invalid training_file: ${r.body?.training_file}`)];
    return [200, addJob(state, r.body, state.script, true).job];
  }
  if (line === 'GET /fine_tuning/jobs') {
    const filter = Object.entries(r.query).flatMap(([k, v]) => {
      const key = /^metadata\[(.+)\]$/.exec(k)?.[1];
      return key && !opts.ignoreMetadataFilter ? [[key, v] as const] : [];
    });
    const pool = jobs.map((j) => j.job).filter((j) => filter.every(([k, v]) => j.metadata?.[k] === v));
    return [200, page(byNewest(pool), r.query, maxPageSize)];
  }
  m = /^GET \/fine_tuning\/jobs\/([^/]+)$/.exec(line);
  if (m) {
    const j = jobs.find((x) => x.job.id === m![1]);
    if (!j) return [404, apiError(`No such fine-tuning job: ${m[1]}`)];
    advance(state, j);
    return [200, j.job];
  }
  return [404, apiError(`no route ${line}`)];
}

export async function startScriptedFineTune(opts: ScriptedFineTuneOptions): Promise<ScriptedFineTune> {
  const state: FtState = { opts, requests: [], files: [], jobs: [], failures: [], script: { ...DEFAULT_SCRIPT }, seq: 0 };
  const { requests, files, jobs, failures } = state;

  const server = createServer((req, res) => {
    const at = Date.now();
    void (async () => {
      const raw = await readRaw(req);
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname.replace(/^\/v1/, '');
      const isJson = (req.headers['content-type'] ?? '').includes('application/json');
      const r: FtRequest = { method: req.method ?? '', path, query: Object.fromEntries(url.searchParams), at, headers: req.headers, body: undefined, status: 0 };
      if (isJson && raw.length > 0) r.body = JSON.parse(raw.toString('utf8'));
      requests.push(r);
      const [status, body, headers] = await route(state, req, res, r, raw);
      r.status = status;
      if (!res.headersSent) send(res, status, body, headers);
    })().catch((e) => {
      if (!res.headersSent) send(res, 500, apiError(String(e), 'server_error'));
    });
  });

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    files,
    jobs,
    count: (match) => requests.filter((r) => matches(match, `${r.method} ${r.path}`)).length,
    uploads: () => files.filter((f) => f.uploaded),
    jobsCreated: () => jobs.filter((j) => j.created),
    failNext(match, status, o = {}) {
      failures.push({ match, status, headers: o.headers ?? {}, ...(o.message !== undefined ? { message: o.message } : {}) });
    },
    scriptJobs(s) {
      state.script = { ...DEFAULT_SCRIPT, ...s };
    },
    seedJob({ metadata, statuses, model }) {
      return addJob(state, { metadata, model }, { ...DEFAULT_SCRIPT, statuses }, false);
    },
    reset() {
      requests.length = 0;
      files.length = 0;
      jobs.length = 0;
      failures.length = 0;
      state.script = { ...DEFAULT_SCRIPT };
    },
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
