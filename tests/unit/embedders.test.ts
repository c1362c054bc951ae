import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorType, ModelError } from '../../common/errors.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { LocalSentenceEncoder } from '../../activities/store/embeddings/local-use.js';
import { OpenAIEmbedder } from '../../activities/store/embeddings/openai-embedder.js';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('LocalSentenceEncoder (real model)', () => {
  it('scores a paraphrase above an unrelated question', async () => {
    const enc = new LocalSentenceEncoder();
    expect(enc.id).toBe('local:use-lite');
    const { vectors, tokens } = await enc.embed([
      'A train travels 60 miles in 1.5 hours. What is its average speed?',
      'What is the average speed of a train that covers 60 miles in an hour and a half?',
      'Does aspirin reduce the risk of heart attacks in older adults?',
    ]);
    expect(tokens).toBe(0);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toHaveLength(512);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    const [q, para, other] = vectors as [number[], number[], number[]];
    expect(dot(q, para)).toBeGreaterThan(dot(q, other) + 0.1);
    expect(await enc.embed([])).toEqual({ vectors: [], tokens: 0 });
  });
});

describe('OpenAIEmbedder against a local HTTP server', () => {
  let server: Server;
  let baseURL: string;
  const requests: { input: string[]; encoding_format?: string }[] = [];
  let failNext = false;
  /** Holds every answer this long (a slow server on CPU). */
  let delayMs = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const parsed = JSON.parse(body) as { input: string[]; encoding_format?: string };
        requests.push(parsed);
        if (req.url !== '/v1/embeddings' || failNext) {
          res.writeHead(failNext ? 500 : 404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
          return;
        }
        if (delayMs > 0) {
          const answer = () => {
            if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [], model: 'fake' }));
          };
          setTimeout(answer, delayMs);
          return;
        }
        // Deterministic: the vector encodes the input's length, one token per input character.
        const data = parsed.input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, 1] }));
        const tokens = parsed.input.reduce((s, t) => s + t.length, 0);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data, model: 'fake', usage: { prompt_tokens: tokens, total_tokens: tokens } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('batches by 256 and sums the tokens', async () => {
    requests.length = 0;
    const emb = new OpenAIEmbedder({ model: 'fake', apiKey: 'k', baseURL });
    expect(emb.id).toBe('openai:fake');
    const texts = Array.from({ length: 300 }, (_, i) => `q${i}`);
    const { vectors, tokens } = await emb.embed(texts);
    expect(requests.map((r) => r.input.length)).toEqual([256, 44]);
    expect(requests[0]!.encoding_format).toBe('float');
    expect(vectors).toHaveLength(300);
    expect(vectors[299]).toEqual([4, 1]);
    expect(tokens).toBe(texts.reduce((s, t) => s + t.length, 0));
  });

  it('never retries: a 500 is one request and an error', async () => {
    requests.length = 0;
    failNext = true;
    try {
      const emb = new OpenAIEmbedder({ model: 'fake', apiKey: 'k', baseURL });
      await expect(emb.embed(['x'])).rejects.toMatchObject({ status: 500 });
      expect(requests).toHaveLength(1);
    } finally {
      failNext = false;
    }
  });

  it('a call that outlasts the ref\'s timeoutSeconds fails as a timed-out ModelUnavailable, one request, no retry', async () => {
    requests.length = 0;
    delayMs = 4000;
    try {
      const emb = buildEmbedder({ provider: 'openai', model: 'fake-slow', baseURL, timeoutSeconds: 1 });
      expect(emb.maxBatch).toBe(256);
      const started = Date.now();
      const err = await emb.embed(['x', 'y']).catch((e: unknown) => e);
      // The ref's 1 s, not the default 60 s.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(err).toBeInstanceOf(ModelError);
      expect(err).toMatchObject({ type: ErrorType.ModelUnavailable, timedOut: true, message: expect.stringMatching(/2 texts .* timed out after 1 s/) });
      expect(requests).toHaveLength(1);
    } finally {
      delayMs = 0;
    }
  });

  it('an error that is not a timeout carries no timeout mark', async () => {
    failNext = true;
    try {
      const err = await new OpenAIEmbedder({ model: 'fake', apiKey: 'k', baseURL, timeoutMs: 1000 }).embed(['x']).catch((e: unknown) => e);
      expect(err).toMatchObject({ type: ErrorType.ModelUnavailable, status: 500 });
      expect((err as ModelError).timedOut).toBeUndefined();
    } finally {
      failNext = false;
    }
  });
});
