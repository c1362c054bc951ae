import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRef } from '../../common/config.js';
import { createChatPreflight, keyProblem } from '../../activities/game/preflight.js';
import { buildChatModel } from '../../activities/game/models/build.js';
import { closePythonSandbox } from '../../activities/game/judge/python-sandbox.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { createStorePreflight } from '../../activities/store/preflight.js';
import { defaultDatasetsDir } from '../../activities/store/decontamination.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

process.env.NANOFLUX_PREFLIGHT_UNIT_KEY = 'k';

/**
 * Preflight's checks called directly (outside an activity they count as their last attempt, so a
 * transient failure is reported, not rethrown), against the scripted OpenAI-compatible server.
 */
describe('preflight checks against a scripted endpoint', () => {
  let server: ScriptedOpenAI;
  let n = 0;
  // A fresh model name per test: clients are memoised per ref.
  const ref = (extra: Partial<ModelRef> = {}): ModelRef => ({ provider: 'openai', model: `m${n++}`, baseURL: server.baseURL, apiKeyEnv: 'NANOFLUX_PREFLIGHT_UNIT_KEY', ...extra });
  const chat = () => createChatPreflight((r) => buildChatModel(r)).preflightModels;
  beforeAll(async () => {
    server = await startScriptedOpenAI(() => ({ json: { ok: true } }));
  });
  afterAll(async () => {
    await server.close();
    await closePythonSandbox();
  });

  it('a working endpoint passes, with one request per model, a tool offered only where tools are needed', async () => {
    const before = server.chatRequests().length;
    const [plain, judge] = [ref(), ref()];
    expect(await chat()({ models: [{ roles: ['a', 'b'], ref: plain, tools: false }, { roles: ['judge'], ref: judge, tools: true }], packs: ['none'] })).toEqual([]);
    const sent = server.chatRequests().slice(before);
    expect(sent.map((r) => [r.body.model, (r.body.tools ?? []).length > 0, r.body.response_format?.json_schema?.name])).toEqual([
      [plain.model, false, 'preflight'],
      [judge.model, true, 'preflight'],
    ]);
  });

  it('a missing key is found before any request, naming the variable', async () => {
    const before = server.chatRequests().length;
    const missing = ref({ apiKeyEnv: 'NANOFLUX_PREFLIGHT_NOT_SET' });
    const problems = await chat()({ models: [{ roles: ['judge'], ref: missing, tools: true }], packs: ['none'] });
    expect(problems).toEqual([{ check: 'key', subject: `judge (openai:${missing.model} at ${server.baseURL})`, type: 'MissingApiKey', message: 'environment variable NANOFLUX_PREFLIGHT_NOT_SET is not set on the worker; set it where the worker runs and restart the worker' }]);
    expect(server.chatRequests().length).toBe(before);
    expect(keyProblem('x', { provider: 'local', model: 'smollm2-135m' })).toBeUndefined();
  });

  it('an endpoint that refuses tool definitions is named as such; one that refuses everything as an endpoint problem', async () => {
    server.intercept((r) => (r.body.tools ? { status: 400, message: "tools are not supported by this server" } : undefined));
    const noTools = ref();
    expect(await chat()({ models: [{ roles: ['judge'], ref: noTools, tools: true }], packs: ['none'] })).toEqual([
      { check: 'tools', subject: expect.stringContaining('judge'), type: 'ModelRequestRejected', message: expect.stringMatching(/^the endpoint refuses tool definitions, which the Judge needs .*tools are not supported/) },
    ]);
    server.intercept(() => ({ status: 404, message: 'model not found' }));
    const [p] = await chat()({ models: [{ roles: ['a'], ref: ref(), tools: false }], packs: ['none'] });
    expect(p).toMatchObject({ check: 'endpoint', type: 'ModelRequestRejected', message: expect.stringMatching(/^a one-answer request with structured output failed: .*model not found/) });
    server.intercept(undefined);
  });

  it('a transient failure counts once retries are spent; a model that misses the schema still passes (the endpoint took the request)', async () => {
    server.intercept((r) => (r.path.endsWith('/chat/completions') ? { status: 503, message: 'overloaded' } : undefined));
    const [p] = await chat()({ models: [{ roles: ['a'], ref: ref(), tools: false }], packs: ['none'] });
    expect(p).toMatchObject({ check: 'endpoint', type: 'ModelUnavailable' });
    server.intercept(() => ({ content: 'not json at all' }));
    expect(await chat()({ models: [{ roles: ['a'], ref: ref(), tools: false }], packs: ['none'] })).toEqual([]);
    server.intercept(undefined);
  });

  it("the sandbox is tried where a pack's Judge runs python", async () => {
    expect(await chat()({ models: [], packs: ['math'] })).toEqual([]);
  });

  it('the store half: one embedding, the benchmark files through the run\'s loaders, the executed check\'s sandbox', async () => {
    const store = (datasetsDir: string) => createStorePreflight({ embedder: (r) => buildEmbedder(r), datasetsDir }).preflightStore;
    const ok = await store(defaultDatasetsDir())({ embedding: ref(), benchmarks: [{ name: 'gsm8k', use: 'decontamination' }, { name: 'pubmedqa', use: 'evaluation' }], packs: ['math'] });
    expect(ok).toEqual([]);
    // A second preflight on the same worker asks the endpoint again (the embedder's cache must not answer for it).
    const again = ref();
    expect(await store(defaultDatasetsDir())({ embedding: again, benchmarks: [], packs: [] })).toEqual([]);
    server.intercept((r) => (r.path.endsWith('/embeddings') ? { status: 503, message: 'down' } : undefined));
    expect(await store(defaultDatasetsDir())({ embedding: again, benchmarks: [], packs: [] })).toMatchObject([{ check: 'embeddings', type: 'ModelUnavailable' }]);
    server.intercept(undefined);
    const empty = mkdtempSync(join(tmpdir(), 'nf-no-datasets-'));
    server.intercept((r) => (r.path.endsWith('/embeddings') ? { status: 401, message: 'bad key' } : undefined));
    const problems = await store(empty)({ embedding: ref(), benchmarks: [{ name: 'gsm8k', use: 'decontamination' }], packs: ['none'] });
    server.intercept(undefined);
    expect(problems).toEqual([
      { check: 'embeddings', subject: expect.stringMatching(/^embedding \(openai:m\d+ at /), type: 'ModelRequestRejected', message: expect.stringMatching(/^embedding one text failed: .*bad key/) },
      { check: 'benchmark', subject: 'gsm8k test split (decontamination)', type: 'MissingResource', message: expect.stringMatching(new RegExp(`${empty}.*NANOFLUX_DATASETS_DIR says where the datasets are`)) },
    ]);
  });
});
