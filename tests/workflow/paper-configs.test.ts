import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunConfigInput, parseRunConfig } from '../../common/config.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { startOptions } from '../../workflows/logic/start-options.js';
import { type RunStatus, statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { providerRules, unsupportedTemperatureValue } from '../support/provider-rules.js';
import { runNanoflux } from '../support/run-command.js';
import { until, useGameFixture } from '../support/workers.js';

const NS = 'wf-paper';
const PAPERS = ['gsmhard', 'multimedqa', 'genomebench'];
const KEYS = { OPENAI_API_KEY: 'sk-test-openai', OPENROUTER_API_KEY: 'sk-or-test', NANOFLUX_TEST_KEY: 'test-key-value' };
const saved = Object.fromEntries(Object.keys(KEYS).map((k) => [k, process.env[k]]));

type Ref = Record<string, unknown>;
type PaperConfig = RunConfigInput & { domains: Array<{ evaluation?: { benchmark: string; data?: string }; baselines?: Array<{ data: string; format: string }> }> };

const readPaper = (name: string): PaperConfig => JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', `paper-${name}.json`), 'utf8')) as PaperConfig;

/** One valid row per benchmark or baseline format: enough for the loaders preflight runs. */
const ROWS: Record<string, unknown> = {
  gsmhard: { input: 'A farmer has 1234567 eggs and sells 234567. How many remain?', target: 1000000 },
  mcq: { question: 'Which base pairs with adenine in DNA?', options: ['cytosine', 'thymine', 'guanine', 'uracil'], answer: 'B' },
};

/**
 * The shipped paper configs against a server that refuses what OpenAI refuses (the o-series
 * temperature rule, max_tokens on reasoning models): `nanoflux validate --check` passes once their
 * benchmark files exist, and pauses a run at preflight while one does not. And a run whose Judge
 * endpoint refuses `temperature` completes, the refusal retried once and recorded (issue 14, item 1).
 */
describe('the paper configs against a scripted server that behaves like the providers', () => {
  const f = useGameFixture(NS);
  const dir = mkdtempSync(join(tmpdir(), 'nf-paper-'));
  const nf = (...args: string[]) =>
    runNanoflux(args, { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: f.workers.home, NANOFLUX_CLI_TIMEOUT: '15' }, 180_000);
  const rules = providerRules();

  beforeAll(() => Object.assign(process.env, KEYS));
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** The config with every model ref pointed at the scripted server (keys, models and settings as shipped). */
  const atScriptedServer = (c: PaperConfig): PaperConfig => ({
    ...c,
    models: Object.fromEntries(Object.entries(c.models as Record<string, Ref>).map(([role, ref]) => [role, { ...ref, baseURL: f.server.baseURL }])) as PaperConfig['models'],
  });
  /** Its `data/` files written as small fixtures and named by absolute path; paths that exist (the shipped GSM8K train split) stay. */
  const withData = (c: PaperConfig): PaperConfig => {
    const fixture = (path: string, format: string) => {
      if (!path.startsWith('data/')) return path;
      const file = join(dir, `${c.runId}-${basename(path)}`);
      writeFileSync(file, `${JSON.stringify(ROWS[format])}\n`);
      return file;
    };
    return {
      ...c,
      domains: c.domains.map((d) => ({
        ...d,
        ...(d.evaluation?.data ? { evaluation: { ...d.evaluation, data: fixture(d.evaluation.data, d.evaluation.benchmark) } } : {}),
        baselines: (d.baselines ?? []).map((b) => ({ ...b, data: fixture(b.data, b.format) })),
      })),
    } as PaperConfig;
  };
  const write = (c: RunConfigInput): string => {
    const file = join(dir, `${c.runId}.json`);
    writeFileSync(file, JSON.stringify(c));
    return file;
  };
  const preflightRequests = () => f.server.chatRequests().filter((r) => r.body.response_format?.json_schema?.name === 'preflight');

  it.each(PAPERS)('paper-%s passes validate --check: keys, every endpoint as the roles call it, its files, the sandbox', async (name) => {
    scriptGame(f.server);
    f.server.intercept(rules.intercept);
    const before = preflightRequests().length;
    const config = withData(atScriptedServer(readPaper(name)));
    const r = await nf('validate', '--config', write(config), '--check', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, runId: `paper-${name}`, preflight: { ok: true, problems: [] } });
    // Each of the three chat models was asked once, as its role asks: the o-series Judge with no temperature, its cap as max_completion_tokens.
    const sent = preflightRequests().slice(before).map((q) => q.body as Ref);
    expect(sent.map((b) => b.model).sort()).toEqual(['anthropic/claude-sonnet-4', 'gpt-4.1', 'o4-mini']);
    const judge = sent.find((b) => b.model === 'o4-mini')!;
    expect(judge).not.toHaveProperty('temperature');
    expect(judge).not.toHaveProperty('max_tokens');
    expect(judge.max_completion_tokens).toBe(16);
    expect(judge.reasoning_effort).toBe('medium');
    expect(sent.find((b) => b.model === 'gpt-4.1')!.temperature).toBe(0.9);
    expect(rules.refused).toEqual([]);
    f.server.intercept(undefined);
  }, 180_000);

  it('the o-series rule is the real one: a Judge ref with a temperature is refused by validation, before any request', async () => {
    const c = readPaper('gsmhard');
    const judge = { ...(c.models as Record<string, Ref>).judge, temperature: 0 };
    const r = parseRunConfig({ ...c, models: { ...c.models, judge } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([{ path: 'models.judge.temperature', message: expect.stringContaining('o4-mini is an OpenAI reasoning model (o-series): the API accepts only its default temperature') }]);
    const cli = await nf('validate', '--config', write({ ...atScriptedServer(c), runId: 'paper-bad-temperature', models: { ...atScriptedServer(c).models, judge: { ...judge, baseURL: f.server.baseURL } } } as RunConfigInput));
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain('models.judge.temperature: o4-mini is an OpenAI reasoning model');
  }, 60_000);

  it('as shipped (its data/ files absent), validate --check names them, and a run pauses at preflight with 0 episodes', async () => {
    scriptGame(f.server);
    f.server.intercept(rules.intercept);
    const config = atScriptedServer(readPaper('gsmhard'));
    const missing = join(PROJECT_ROOT, 'data', 'gsm-hard.jsonl');
    const r = await nf('validate', '--config', write(config), '--check');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain(`domains.math.evaluation.data: ${missing} not found on the worker`);

    const started = { ...config, runId: 'paper-missing-data', generation: { ...config.generation, concurrency: 1 } } as RunConfigInput;
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { ...startOptions({ kind: 'run', runId: started.runId }), taskQueue: TaskQueue.main, args: [started] });
    const paused = await until(() => h.query(statusQuery), (s: RunStatus) => s.pausedBy?.preflight !== undefined, 90_000);
    expect(paused).toMatchObject({ stage: 'paused', episodes: 0, preflight: { ok: false } });
    expect(paused.preflight!.problems).toEqual([
      { check: 'benchmark', subject: 'domains.math.evaluation.data', type: 'MissingResource', message: expect.stringContaining(`${missing} not found on the worker`) },
    ]);
    await h.terminate('test over');
    f.server.intercept(undefined);
  }, 180_000);

  it('a run whose Judge endpoint refuses temperature completes after one recorded retry', async () => {
    const game = scriptGame(f.server);
    // A Judge the family table does not know, on an endpoint that answers any temperature as gpt-5 does.
    let refusals = 0;
    f.server.intercept((r) => {
      if (r.body?.model !== 'judge-strict' || r.body.temperature === undefined) return undefined;
      refusals++;
      return unsupportedTemperatureValue(r.body.temperature);
    });
    const base = testConfig(f.server.baseURL, 'paper-judge-temperature', { generation: { targetAccepted: 2, maxEpisodes: 12, concurrency: 1 } });
    const config = { ...base, models: { ...base.models, judge: { ...base.models.judge, model: 'judge-strict', temperature: 0 } } };
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { ...startOptions({ kind: 'run', runId: config.runId }), taskQueue: TaskQueue.main, args: [config] });
    const result = await h.result();
    expect(result.status.accepted).toBeGreaterThanOrEqual(2);
    expect(result.status.failures ?? []).toEqual([]);
    expect(refusals).toBe(1);
    const judged = f.server.chatRequests().filter((r) => r.body.model === 'judge-strict');
    expect(judged.length).toBe(game.calls.judge! + 1);
    expect(judged.slice(1).every((r) => !('temperature' in r.body))).toBe(true);
    // Every judged episode's transcript says what its Judge went without.
    const episodes = f.workers.deps.ledger.episodes(config.runId).filter((e) => (e.transcript as { verdict?: unknown }).verdict);
    expect(episodes.length).toBeGreaterThanOrEqual(2);
    for (const e of episodes) expect((e.transcript as { refusedParameters?: unknown }).refusedParameters).toEqual({ judge: ['temperature'] });
    f.server.intercept(undefined);
  }, 180_000);
});
