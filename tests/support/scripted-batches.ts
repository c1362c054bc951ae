import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The OpenAI Batch API for the scripted server (scripted-openai.ts): `/v1/files` (multipart upload,
 * retrieve, content) and `/v1/batches` (create, retrieve, list, cancel) with a status that moves on
 * as the job is polled — validating, in_progress, then completed (or expired, or cancelled) — output
 * and error files in the provider's line format, and each line answered by the same per-role scripts
 * as a synchronous call. It stands in for OpenAI's paid Batch API, which no test can reach.
 */

export interface BatchBehaviour {
  /** Retrieves of a job before it ends (default 2: in_progress at the first, done at the second). */
  pollsToFinish?: number;
  /** Lines that expire unanswered (the job then ends `expired`); default none. */
  expire?: (customId: string, index: number, batchId: string) => boolean;
}

export interface BatchLine {
  custom_id: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
}

export interface ScriptedJob {
  id: string;
  status: string;
  lines: BatchLine[];
  metadata: Record<string, string> | null;
  created_at: number;
  polls: number;
  output_file_id: string | null;
  error_file_id: string | null;
  cancelled: boolean;
  /** What the job billed: the usage of each line it answered. */
  billed: Array<{ custom_id: string; prompt_tokens: number; completion_tokens: number }>;
}

/** What the Batch API side of the server knows: the jobs created, and how the next ones behave. */
export interface ScriptedBatches {
  jobs: ScriptedJob[];
  behave(b: BatchBehaviour): void;
}

/** Answers one chat body as the synchronous endpoint would: status and JSON body. */
export type AnswerChat = (body: Record<string, unknown>, batchId: string) => Promise<{ status: number; body: unknown }>;

const now = () => Math.floor(Date.now() / 1000);

export function scriptedBatches(answer: AnswerChat): ScriptedBatches & { route(req: IncomingMessage, res: ServerResponse, raw: string, path: string): Promise<boolean> } {
  const files = new Map<string, { content: string; purpose: string }>();
  const jobs: ScriptedJob[] = [];
  let behaviour: BatchBehaviour = {};
  let seq = 0;
  const id = (p: string) => `${p}_${(++seq).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const view = (j: ScriptedJob) => ({
    id: j.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    status: j.status,
    input_file_id: 'file_in',
    output_file_id: j.output_file_id,
    error_file_id: j.error_file_id,
    created_at: j.created_at,
    metadata: j.metadata,
    errors: null,
    request_counts: { total: j.lines.length, completed: 0, failed: 0 },
  });

  async function finish(j: ScriptedJob): Promise<void> {
    const out: string[] = [];
    const err: string[] = [];
    let expired = false;
    for (const [i, line] of j.lines.entries()) {
      if (j.cancelled) {
        err.push(JSON.stringify({ id: id('batch_req'), custom_id: line.custom_id, response: null, error: { code: 'batch_cancelled', message: 'This request was cancelled with its batch.' } }));
        continue;
      }
      if (behaviour.expire?.(line.custom_id, i, j.id)) {
        expired = true;
        err.push(JSON.stringify({ id: id('batch_req'), custom_id: line.custom_id, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } }));
        continue;
      }
      const a = await answer(line.body, j.id);
      const entry = JSON.stringify({ id: id('batch_req'), custom_id: line.custom_id, response: { status_code: a.status, request_id: id('req'), body: a.body }, error: null });
      (a.status === 200 ? out : err).push(entry);
      const usage = (a.body as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
      if (a.status === 200 && usage) j.billed.push({ custom_id: line.custom_id, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
    }
    const keep = (lines: string[]) => {
      if (lines.length === 0) return null;
      const fid = id('file');
      files.set(fid, { content: `${lines.join('\n')}\n`, purpose: 'batch_output' });
      return fid;
    };
    j.output_file_id = keep(out);
    j.error_file_id = keep(err);
    j.status = j.cancelled ? 'cancelled' : expired ? 'expired' : 'completed';
  }

  async function route(req: IncomingMessage, res: ServerResponse, raw: string, path: string): Promise<boolean> {
    const m = /\/v1\/(files|batches)(?:\/([^/]+))?(?:\/(content|cancel))?$/.exec(path);
    if (!m) return false;
    const [, kind, objectId, action] = m;
    if (kind === 'files') {
      if (req.method === 'POST' && !objectId) {
        const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
        const parts = boundary ? raw.split(`--${boundary[1] ?? boundary[2]}`) : [];
        const field = (name: string) => {
          const p = parts.find((x) => new RegExp(`name="${name}"`).test(x.slice(0, x.indexOf('\r\n\r\n'))));
          return p === undefined ? undefined : p.slice(p.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
        };
        const content = field('file');
        if (content === undefined) return (json(res, 400, { error: { message: 'no file part', type: 'invalid_request_error' } }), true);
        const fid = id('file');
        files.set(fid, { content, purpose: field('purpose') ?? '' });
        return (json(res, 200, { id: fid, object: 'file', bytes: content.length, purpose: field('purpose'), filename: 'batch.jsonl', created_at: now(), status: 'processed' }), true);
      }
      const f = objectId ? files.get(objectId) : undefined;
      if (!f) return (json(res, 404, { error: { message: `no file ${objectId}`, type: 'invalid_request_error' } }), true);
      if (action === 'content') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(f.content);
        return true;
      }
      return (json(res, 200, { id: objectId, object: 'file', bytes: f.content.length, purpose: f.purpose, created_at: now(), status: 'processed' }), true);
    }
    if (req.method === 'POST' && !objectId) {
      const body = JSON.parse(raw) as { input_file_id: string; endpoint: string; completion_window: string; metadata?: Record<string, string> };
      const input = files.get(body.input_file_id);
      if (!input || body.endpoint !== '/v1/chat/completions' || body.completion_window !== '24h') return (json(res, 400, { error: { message: 'bad batch request', type: 'invalid_request_error' } }), true);
      const lines = input.content.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as BatchLine);
      const j: ScriptedJob = { id: id('batch'), status: 'validating', lines, metadata: body.metadata ?? null, created_at: now(), polls: 0, output_file_id: null, error_file_id: null, cancelled: false, billed: [] };
      jobs.push(j);
      return (json(res, 200, view(j)), true);
    }
    if (req.method === 'GET' && !objectId) return (json(res, 200, { object: 'list', data: [...jobs].reverse().map(view), has_more: false }), true);
    const j = jobs.find((x) => x.id === objectId);
    if (!j) return (json(res, 404, { error: { message: `no batch ${objectId}`, type: 'invalid_request_error' } }), true);
    if (req.method === 'POST' && action === 'cancel') {
      if (!['completed', 'expired', 'failed', 'cancelled'].includes(j.status)) {
        j.cancelled = true;
        j.status = 'cancelling';
      }
      return (json(res, 200, view(j)), true);
    }
    if (j.status === 'cancelling') await finish(j);
    else if (j.status === 'validating' || j.status === 'in_progress') {
      j.polls++;
      if (j.polls >= (behaviour.pollsToFinish ?? 2)) await finish(j);
      else j.status = 'in_progress';
    }
    return (json(res, 200, view(j)), true);
  }

  return {
    jobs,
    behave(b) {
      behaviour = b;
    },
    route,
  };
}
