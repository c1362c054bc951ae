import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDatasetsDir } from '../../activities/store/decontamination.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { createStorePreflight } from '../../activities/store/preflight.js';
import { parseRunConfig, type RunConfig } from '../../common/config.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { preflightPlan } from '../../workflows/logic/preflight.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

const parse = (raw: unknown): RunConfig => {
  const r = parseRunConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
};
const paper = (name: string) => parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', `paper-${name}.json`), 'utf8')));

/**
 * The files a config names are found missing (or unreadable) at preflight, on the worker that
 * prepares the stages, not at the fine-tune stage after the generation budget is spent (issue 14).
 */
describe('preflight of the files a config names', () => {
  it('the plan lists every evaluation data file and baseline training file, as given', () => {
    expect(preflightPlan(paper('gsmhard')).store.files).toEqual([
      { field: 'domains.math.evaluation.data', path: 'data/gsm-hard.jsonl', benchmark: 'gsmhard' },
      { field: 'domains.math.baselines.full-train.data', path: 'datasets/gsm8k/train.jsonl' },
    ]);
    expect(preflightPlan(paper('multimedqa')).store.files).toEqual([
      { field: 'domains.medicine.evaluation.data', path: 'data/medqa-test.jsonl', benchmark: 'mcq' },
      { field: 'domains.medicine.baselines.full-train.data', path: 'data/medqa-train.jsonl' },
    ]);
    // The shipped test split is checked as before (benchmarks), not as a file.
    expect(preflightPlan(paper('gsmhard')).store.benchmarks).toEqual([{ name: 'gsm8k', use: 'decontamination' }]);
  });

  it('no stage, no file: evaluation data only with the evaluate stage; none at all for a generation-only run', () => {
    const raw = JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', 'paper-genomebench.json'), 'utf8')) as Record<string, unknown>;
    const { finetune: _f, evaluate: _e, ablation: _a, ...generationOnly } = raw;
    const domains = (generationOnly.domains as Array<Record<string, unknown>>).map((d) => ({ ...d, baselines: [] }));
    expect(preflightPlan(parse({ ...generationOnly, domains })).store).not.toHaveProperty('files');
  });

  describe('on the store worker', () => {
    let server: ScriptedOpenAI;
    const dir = mkdtempSync(join(tmpdir(), 'nf-preflight-files-'));
    const check = (files: Parameters<ReturnType<typeof createStorePreflight>['preflightStore']>[0]['files']) =>
      createStorePreflight({ embedder: (r) => buildEmbedder(r, {}), datasetsDir: defaultDatasetsDir() }).preflightStore({
        embedding: { provider: 'openai', model: 'embed', baseURL: server.baseURL },
        benchmarks: [],
        packs: ['none'],
        ...(files ? { files } : {}),
      });
    beforeAll(async () => {
      server = await startScriptedOpenAI();
    });
    afterAll(() => server.close());

    it('present and readable files pass, absolute or relative to the project root', async () => {
      const gsmhard = join(dir, 'gsm-hard.jsonl');
      writeFileSync(gsmhard, `${JSON.stringify({ input: 'What is 2 + 2?', target: 4 })}\n`);
      expect(await check([
        { field: 'domains.math.evaluation.data', path: gsmhard, benchmark: 'gsmhard' },
        { field: 'domains.math.baselines.full-train.data', path: 'datasets/gsm8k/train.jsonl' },
        { field: 'domains.math.evaluation.data', path: relative(PROJECT_ROOT, gsmhard), benchmark: 'gsmhard' },
      ])).toEqual([]);
      expect(await check(undefined)).toEqual([]);
    });

    it('a missing file is a problem naming the field and where it was looked for; a benchmark its loader cannot read too', async () => {
      const bad = join(dir, 'medqa-test.jsonl');
      writeFileSync(bad, `${JSON.stringify({ question: 'Which?', options: ['a', 'b'], answer: 'E' })}\n`);
      const empty = join(dir, 'empty.jsonl');
      writeFileSync(empty, '');
      expect(await check([
        { field: 'domains.math.evaluation.data', path: 'data/gsm-hard.jsonl', benchmark: 'gsmhard' },
        { field: 'domains.medicine.baselines.full-train.data', path: 'data/medqa-train.jsonl' },
        { field: 'domains.medicine.evaluation.data', path: bad, benchmark: 'mcq' },
        { field: 'domains.other.evaluation.data', path: empty, benchmark: 'mcq' },
      ])).toEqual([
        { check: 'benchmark', subject: 'domains.math.evaluation.data', type: 'MissingResource', message: `${join(PROJECT_ROOT, 'data/gsm-hard.jsonl')} not found on the worker (relative paths are taken from the project root); the stages would fail on it after the generation budget is spent` },
        { check: 'benchmark', subject: 'domains.medicine.baselines.full-train.data', type: 'MissingResource', message: expect.stringContaining(`${join(PROJECT_ROOT, 'data/medqa-train.jsonl')} not found on the worker`) },
        { check: 'benchmark', subject: 'domains.medicine.evaluation.data', type: 'MissingResource', message: expect.stringMatching(/^mcq cannot read it: .*medqa-test\.jsonl:1: "answer" must be one of the option letters A, B/) },
        { check: 'benchmark', subject: 'domains.other.evaluation.data', type: 'MissingResource', message: `no mcq items in ${empty}` },
      ]);
    });
  });
});
