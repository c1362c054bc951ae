import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { runNanoflux } from '../support/run-command.js';

const run = (env: NodeJS.ProcessEnv, args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
const cli = (...args: string[]) => run({}, args);
/** The binary, asynchronously: many at once keep the file fast. */
const cliAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => runNanoflux(args, env);
const COMMANDS = ['validate', 'run', 'resume-from', 'calibrate', 'list', 'status', 'pause', 'resume', 'stop', 'set-concurrency', 'set-target', 'set-budget', 'review', 'export', 'report', 'ablate', 'score', 'tool'];
/** What a user mistake must look like: exit 2, one line `nanoflux: <what>; <what to do>`, no stack trace. */
function expectUsageError(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^nanoflux: [^\n]+; /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

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

  it('has --help on every command: a description, its options and --json, exit 0', async () => {
    const top = await cliAsync(['--help']);
    expect(top.status).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(top.stdout).toContain('Exit codes: 0 ok, 1 failure');
    const helps = await Promise.all(COMMANDS.map((c) => cliAsync([c, '--help'])));
    helps.forEach((h, i) => {
      expect(h.status, COMMANDS[i]).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: nanoflux ${COMMANDS[i]} `));
      expect(h.stdout.split('\n')[2]!.length).toBeGreaterThan(10); // the description
      expect(h.stdout).toContain('--json');
    });
    expect((await cliAsync(['help', 'status'])).stdout).toMatch(/^Usage: nanoflux status \[options\] <run>/);
    // No command at all: the help, on stderr, as a usage error.
    const none = await cliAsync([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('Usage: nanoflux');
  }, 180_000);

  it('refuses bad arguments before touching a server: exit 2, one line naming the command\'s help', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'; see `nanoflux --help`/],
      [['lisst'], /unknown command 'lisst'; Did you mean list\? See `nanoflux --help`/],
      [['status'], /missing required argument 'run'; see `nanoflux status --help`/],
      [['status', 'a', 'b'], /too many arguments for 'status'.*; see `nanoflux status --help`/],
      [['status', 'a', '--bogus'], /unknown option '--bogus'; see `nanoflux status --help`/],
      [['status', 'a', '--interval', '1'], /--interval needs --watch; try nanoflux status a --watch --interval 1/],
      [['status', 'a', '--watch', '--interval', '0'], /a positive number is needed, got "0"/],
      [['list', '--limit', 'many'], /a positive integer is needed, got "many"; see `nanoflux list --help`/],
      [['pause'], /missing required argument 'run'/],
      [['stop', 'a', '--now'], /unknown option '--now'/],
      [['set-concurrency', 'a'], /missing required argument 'n'/],
      [['set-concurrency', 'a', 'x'], /a positive integer is needed, got "x"; see `nanoflux set-concurrency --help`/],
      [['set-target', 'a', '1.5'], /a positive integer is needed, got "1.5"/],
      [['set-budget', 'a'], /set-budget needs a limit; give --max-tokens <n> and\/or --max-cost <usd>/],
      [['set-budget', 'a', '--max-tokens', '-5'], /a positive integer is needed, got "-5"/],
      [['set-budget', 'a', '--max-cost', '0'], /a positive number is needed, got "0"/],
      [['run'], /required option '--config <file>' not specified; see `nanoflux run --help`/],
      [['resume-from', 'a'], /required option '--config <file>' not specified/],
      [['review', 'a', '--note', 'why'], /--note and --reviewer go with --approve or --reject/],
      [['export'], /missing required argument 'run'/],
      [['report', 'a', 'b'], /too many arguments for 'report'/],
      [['score', '--benchmark', 'gsm8k'], /required option '--predictions <file>' not specified/],
      [['calibrate'], /required option '--config <file>' not specified; see `nanoflux calibrate --help`/],
      [['calibrate', '--config', join(dir, 'nope.json')], /cannot read config .*nope\.json: ENOENT/],
      [['calibrate', '--config', join(PROJECT_ROOT, 'configs', 'demo.json'), '--items', '3'], /--items 3 is out of range; give 6 to 1000 items/],
      [['calibrate', '--config', join(PROJECT_ROOT, 'configs', 'demo.json'), '--items', 'x'], /a positive integer is needed, got "x"; see `nanoflux calibrate --help`/],
      [['resume', 'a', '--accept-judges'], /unknown option '--accept-judges'.*Did you mean --accept-judge/],
    ];
    const results = await Promise.all(cases.map(([args]) => cliAsync(args)));
    results.forEach((r, i) => expectUsageError(r, cases[i]![1]));
  }, 180_000);

  it('reads YAML configs: valid ones pass, syntax errors name the line, schema problems every field path', async () => {
    const demo = JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', 'demo.json'), 'utf8')) as Record<string, unknown>;
    const good = join(dir, 'demo.yaml');
    writeFileSync(good, `# a comment, which JSON cannot have\n${stringify(demo)}`);
    const goodYml = join(dir, 'demo.yml');
    writeFileSync(goodYml, stringify({ ...demo, runId: 'demo-yml' }));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'runId: x\ndomains:\n  - name: m\n     brief: b\n');
    const duplicate = join(dir, 'duplicate.yml');
    writeFileSync(duplicate, 'runId: x\nrunId: y\n');
    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, 'runId: Not A Slug\ndomains:\n  - name: m\n    brief: b\n    topics: []\nmodels: {}\ngeneration:\n  concurrency: 0\n');
    const [a, b, c, d, e, eJson] = await Promise.all([
      cliAsync(['validate', '--config', good, '--json']),
      cliAsync(['validate', '--config', goodYml]),
      cliAsync(['validate', '--config', broken]),
      cliAsync(['validate', '--config', duplicate]),
      cliAsync(['validate', '--config', invalid]),
      cliAsync(['validate', '--config', invalid, '--json']),
    ]);
    expect(a.status).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual({ valid: true, runId: 'demo' });
    expect(b.status).toBe(0);
    expect(b.stdout).toContain('valid (run demo-yml, 1 domain(s))');
    expectUsageError(c, /config .*broken\.yaml is not valid YAML \(line 3, column 11\): Nested mappings are not allowed .*; fix the file/);
    expectUsageError(d, /duplicate\.yml is not valid YAML \(line 2, column 1\): Map keys must be unique/);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/invalid run config \(\d+ problems\); fix these fields/);
    for (const p of ['runId', 'domains[0].topics', 'models.a', 'models.embedding', 'generation.concurrency']) expect(e.stderr).toContain(`  - ${p}: `);
    expect(e.stderr).not.toMatch(/\n\s+at /);
    // --json: the problems as data on stdout too, still exit 2.
    expect(eJson.status).toBe(2);
    expect(JSON.parse(eJson.stdout)).toMatchObject({ valid: false, problems: expect.arrayContaining([{ path: 'generation.concurrency', message: expect.any(String) }]) });
  }, 180_000);

  it('names the line and column of broken JSON', () => {
    const broken = join(dir, 'trailing-comma.json');
    writeFileSync(broken, '{\n  "runId": "x",\n}\n');
    const r = cli('validate', '--config', broken);
    expectUsageError(r, /trailing-comma\.json is not valid JSON \(line 3, column 1\)/);
  });

  it('an unreachable server is exit 1 with what to do, for every command that needs one', async () => {
    const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const demo = join(PROJECT_ROOT, 'configs', 'demo.json');
    const calls = [['list'], ['status', 'demo'], ['status', 'demo', '--json'], ['pause', 'demo'], ['set-budget', 'demo', '--max-tokens', '5'], ['set-target', 'demo', '3'], ['review', 'demo'], ['run', '--config', demo], ['report', 'demo'], ['export', 'demo']];
    const results = await Promise.all(calls.map((args) => cliAsync(args, env)));
    results.forEach((r, i) => {
      expect(r.status, calls[i]!.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^nanoflux: cannot reach Temporal at 127\.0\.0\.1:1; start it with `npm run dev-server`, or set TEMPORAL_ADDRESS/);
    });
    // Commands that can read the run's config from history say the file is the way round it.
    expect(results.at(-1)!.stderr).toContain("pass the run's config with --config <file>");
  }, 180_000);

  it('report rewrites report.md and figures from the variant results on disk; nothing to report is exit 1', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nf-report-'));
    const config = join(PROJECT_ROOT, 'configs', 'demo-finetune.json');
    const empty = await cliAsync(['report', 'demo-finetune', '--config', config], { NANOFLUX_HOME: home });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/^nanoflux: run demo-finetune has nothing to report yet: no variant result under .*; `nanoflux status demo-finetune` shows where its stages are/);
    const variant = (name: string, accuracy: number) => {
      const d = join(home, 'runs', 'demo-finetune', 'stages', 'math', 'variants', name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'result.json'), JSON.stringify({ domain: 'math', variant: name, benchmark: 'gsm8k', n: 20, correct: accuracy * 20, accuracy, ci95: { low: accuracy - 0.1, high: accuracy + 0.1 }, trainExamples: name === 'base' ? null : 12, train: null }));
    };
    variant('base', 0.2);
    variant('tuned', 0.35);
    const r = await cliAsync(['report', 'demo-finetune', '--config', config, '--json'], { NANOFLUX_HOME: home });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runId: string; report: string; figures: string[] };
    expect(out.report).toBe(join(home, 'runs', 'demo-finetune', 'report.md'));
    expect(out.figures.length).toBeGreaterThan(0);
    const md = readFileSync(out.report, 'utf8');
    expect(md).toContain('demo-finetune');
    expect(md).toMatch(/35\.0%/);
    const human = await cliAsync(['report', 'demo-finetune', '--config', config], { NANOFLUX_HOME: home });
    expect(human.stdout).toMatch(/^report of demo-finetune: .*report\.md\nfigures:\n {2}\//);
    // A config for another run is refused.
    expectUsageError(await cliAsync(['report', 'other', '--config', config], { NANOFLUX_HOME: home }), /the config is for run demo-finetune, not other/);
  }, 180_000);

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
    expect(out.files.map((f) => f.split('/').pop())).toEqual(['dataset.openai.jsonl', 'dataset.alpaca.jsonl', 'examples.jsonl', 'episodes.jsonl', 'README.md', 'report.html']);
    expect(readFileSync(join(home, 'runs', 'demo', 'dataset.alpaca.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(home, 'runs', 'demo', 'README.md'), 'utf8')).toContain('| examples | 2 |');
    // Without the run's calibration.json (no run wrote one here) the card says the Judge was not calibrated.
    expect(readFileSync(join(home, 'runs', 'demo', 'README.md'), 'utf8')).toContain('The Judge was not calibrated');
    expect(cli('export', 'demo', '--format', 'csv', '--config', join(PROJECT_ROOT, 'configs', 'demo.json')).status).toBe(2);
  });
});
