import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectionName, pointId } from '../../activities/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/vector/sqlite-store.js';
import { PROJECT_ROOT } from '../../common/env.js';

const run = (env: NodeJS.ProcessEnv, args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
const cli = (...args: string[]) => run({}, args);

describe('nanoflux command line (the real binary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-cli-'));

  it('validates a good config', () => {
    const r = cli('validate', '--config', join(PROJECT_ROOT, 'configs', 'demo.json'), '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, runId: 'demo' });
  });

  it('refuses a bad config with exit 2 and every field path, no stack trace', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ runId: 'x', domains: [{ name: 'm', brief: 'b', topics: [] }], models: { a: { provider: 'nope', model: 'm' } }, budget: { maxTokens: -1 } }));
    const r = cli('validate', '--config', bad);
    expect(r.status).toBe(2);
    for (const p of ['domains[0].topics', 'models.a.provider', 'models.b', 'budget.maxTokens']) expect(r.stderr).toContain(p);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports unreadable files and broken JSON clearly', () => {
    const missing = cli('validate', '--config', join(dir, 'nope.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read config .*ENOENT/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"runId": ');
    const r = cli('validate', '--config', broken);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
  });

  it('refuses unknown flags and commands', () => {
    expect(cli('validate', '--colour').status).toBe(2);
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('--help').status).toBe(0);
  });

  describe('nanoflux tool: the judge\'s tools, same code path', () => {
    const tool = (name: string, input: unknown) => {
      const r = cli('tool', name, '--input', typeof input === 'string' ? input : JSON.stringify(input));
      return { status: r.status, out: JSON.parse(r.stdout) as Record<string, unknown> };
    };

    it.each([
      ['calculate', { expression: '5 km/h * 2 h to m' }, { result: '10000 m' }],
      ['python', { code: 'from fractions import Fraction\nprint(Fraction(1, 3) + Fraction(1, 6))' }, { stdout: '1/2\n', truncated: false }],
      ['exact_arithmetic', { expression: '1/3 + 1/6' }, { result: expect.objectContaining({ fraction: '1/2' }) }],
      ['check_equation', { equation: '2*x + 1 = 7', variables: { x: 3 } }, { result: expect.objectContaining({ holds: true }) }],
      ['reverse_complement', { sequence: 'ATGC' }, { result: expect.anything() }],
      ['gc_content', { sequence: 'GGCCAATT' }, { result: expect.objectContaining({ fraction: 0.5 }) }],
      ['translate_dna', { sequence: 'ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG' }, { result: expect.anything() }],
      ['melting_temperature', { sequence: 'ACGTACGT' }, { result: expect.anything() }],
      ['find_orfs', { sequence: 'ATGAAATAG', minLength: 1 }, { result: expect.anything() }],
      ['bmi', { weightKg: 68, heightCm: 165 }, { result: expect.anything() }],
      ['body_surface_area', { weightKg: 80, heightCm: 180, formula: 'mosteller' }, { result: expect.anything() }],
      ['cockcroft_gault', { ageYears: 60, weightKg: 72, serumCreatinineMgDl: 1.0, sex: 'male' }, { result: expect.anything() }],
      ['ckd_epi_2021', { serumCreatinineMgDl: 1.0, ageYears: 50, sex: 'male' }, { result: expect.objectContaining({ eGfrRounded: 92 }) }],
      ['weight_based_dose', { weightKg: 70, mgPerKg: 10 }, { result: expect.anything() }],
      ['convert_concentration', { value: 100, from: 'mg/dL', analyte: 'glucose' }, { result: expect.anything() }],
    ])('%s works and exits 0', (name, input, expected) => {
      const r = tool(name, input);
      expect(r.status).toBe(0);
      expect(r.out).toEqual(expected);
    });

    it('prints a JSON error and exits non-zero for bad input, unsafe code and unknown tools', () => {
      expect(tool('calculate', { expression: 'import({}, {})' })).toMatchObject({ status: 1, out: { error: expect.stringMatching(/disabled/) } });
      expect(tool('python', { code: "open('/etc/passwd').read()" })).toMatchObject({ status: 1, out: { kind: 'python' } });
      expect(tool('bmi', { weightKg: -1, heightCm: 170 })).toMatchObject({ status: 1, out: { error: expect.any(String) } });
      expect(tool('calculate', '{not json')).toMatchObject({ status: 1, out: { error: expect.stringMatching(/not valid JSON/) } });
      const unknown = cli('tool', 'nope', '--input', '{}');
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toMatch(/unknown tool "nope"; one of: calculate, python/);
    });
  });

  it('nanoflux score prints accuracy, interval and per-item correctness as JSON', () => {
    const preds = join(dir, 'preds.jsonl');
    // GSM8K test items 0 and 1 have the answers 18 and 3.
    writeFileSync(preds, '{"id":"0","prediction":"The answer is 18"}\n{"id":"1","prediction":"#### 4"}\n');
    const r = cli('score', '--benchmark', 'gsm8k', '--predictions', preds);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ benchmark: 'gsm8k', n: 1319, correct: 1 });
    expect(out.ci95.low).toBeGreaterThan(0);
    expect(out.items.slice(0, 2)).toMatchObject([{ id: '0', correct: true }, { id: '1', correct: false }]);
    const noData = cli('score', '--benchmark', 'mcq', '--predictions', preds);
    expect(noData.status).toBe(2);
  });

  it('nanoflux export writes every trainer format and a dataset card from the stored examples', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nf-export-'));
    const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
    const collection = collectionName('examples', 'math', 'local:use-lite');
    await store.ensureCollection(collection, 3);
    const example = (episode: number) => ({
      id: `demo/math/${episode}`, question: `Q${episode}?`, solutionSteps: ['a', 'b'], answer: '42', annotation: 'trap', domain: 'math', skill: 's',
      complexity: 3, hops: 2, quality: 4, qualityLevel: 'L4', novelty: 0.9,
      provenance: { runId: 'demo', episode, workflowId: `w${episode}`, attackerModel: 'local:a', defenderModel: 'local:b', judgeModel: 'local:j' },
    });
    await store.upsert(collection, [0, 3].map((n) => ({ id: pointId(`demo/math/${n}`), vector: [1, 0, n], payload: { ...example(n), runId: 'demo' } })));
    await store.close();
    const r = run({ NANOFLUX_HOME: home }, ['export', 'demo', '--format', 'openai,alpaca', '--config', join(PROJECT_ROOT, 'configs', 'demo.json'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { files: string[]; examples: number };
    expect(out.examples).toBe(2);
    expect(out.files.map((f) => f.split('/').pop())).toEqual(['dataset.openai.jsonl', 'dataset.alpaca.jsonl', 'examples.jsonl', 'episodes.jsonl', 'README.md']);
    expect(readFileSync(join(home, 'runs', 'demo', 'dataset.alpaca.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(home, 'runs', 'demo', 'README.md'), 'utf8')).toContain('| examples | 2 |');
    expect(cli('export', 'demo', '--format', 'csv', '--config', join(PROJECT_ROOT, 'configs', 'demo.json')).status).toBe(2);
  });
});
