import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadBenchmark } from '../../activities/kit/benchmarks.js';
import { loadPredictions } from '../../activities/stages/eval/score.js';
import { baselineRows } from '../../activities/stages/training-data.js';
import { type ConfigProblem, parseRunConfig } from '../../common/config.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { type BadConfig, type BadKind, fullValidConfig, generateBadConfigs, type Json, standardSample } from '../fixtures/bad-configs/generate.js';
import { runNanoflux } from '../support/run-command.js';
import { mapBounded } from '../../workflows/pool.js';

/**
 * Bad input, refused with the field path and the reason: malformed run configs generated from the
 * JSON Schema (tests/fixtures/bad-configs/generate.ts) through parseRunConfig and a sample through
 * the real `nanoflux` binary; YAML/JSON syntax errors and unreadable files with their line and
 * column; unknown flags; benchmark, baseline and prediction files with a broken line naming it.
 * The same sample through `temporal workflow start` is tests/workflow/bad-input.test.ts.
 */

const ALL = generateBadConfigs();
const dir = mkdtempSync(join(tmpdir(), 'nf-bad-input-'));
const NO_SERVER = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
const STACK = /\n\s+at /;

interface CliResult {
  args: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real binary, asynchronously; at most as many at once as there are cores (each start costs a second of CPU). */
function cliAll(calls: string[][], env: NodeJS.ProcessEnv = {}): Promise<CliResult[]> {
  return mapBounded(calls, Math.max(2, availableParallelism()), async (args) => ({ args, ...(await runNanoflux(args, { ...NO_SERVER, ...env })) }));
}

/** A user mistake: exit 2, nothing on stdout, one line `nanoflux: …; <what to do>`, no stack trace. */
function expectOneLineUsageError(r: CliResult, pattern: RegExp) {
  const label = r.args.join(' ');
  expect(r.status, `${label}\n${r.stderr}`).toBe(2);
  expect(r.stdout, label).toBe('');
  expect(r.stderr.trim().split('\n'), label).toHaveLength(1);
  expect(r.stderr, label).toMatch(/^nanoflux: [^\n]+; [^\n]+\n$/);
  expect(r.stderr, label).toMatch(pattern);
  expect(r.stderr, label).not.toMatch(STACK);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function problemsOf(config: Json): ConfigProblem[] {
  const r = parseRunConfig(config);
  return r.ok ? [] : r.problems;
}

describe('malformed run configs generated from configs/run-config.schema.json', () => {
  it('start from a valid config that sets every field, and number well over 50, of every kind', () => {
    expect(parseRunConfig(fullValidConfig())).toMatchObject({ ok: true });
    const byKind: Partial<Record<BadKind, number>> = {};
    for (const b of ALL) byKind[b.kind] = (byKind[b.kind] ?? 0) + 1;
    expect(ALL.length).toBeGreaterThanOrEqual(50);
    expect(ALL.length).toBeGreaterThan(300);
    expect(Object.keys(byKind).sort()).toEqual(
      ['wrong type', 'not an integer', 'below minimum', 'above maximum', 'negative', 'empty string', 'pattern mismatch', 'too long', 'not a URL', 'unknown enum value', 'too few items', 'missing required key', 'unknown key', 'cross-field rule', 'not an object'].sort(),
    );
    expect(new Set(ALL.map((b) => b.name)).size).toBe(ALL.length);
    // The ones the issue names, by field.
    for (const name of [
      'negative: budget.maxTokens',
      'below minimum: budget.maxCost',
      'negative: models.a.price.inputPerMillion',
      'unknown enum value: models.a.provider',
      'unknown enum value: finetune.backend',
      'unknown enum value: domains[0].evaluation.benchmark',
      'unknown enum value: judge.mcpServers[0].transport',
      'above maximum: generation.noveltyThreshold',
      'below minimum: generation.noveltyThreshold',
      'above maximum: generation.solveRate.max',
      'below minimum: generation.concurrency',
      'below minimum: evaluate.concurrency',
      'below minimum: generation.review.timeoutSeconds',
      'missing required key: models.judge',
      'missing required key: domains[0].topics',
      'unknown key: generation.',
      'wrong type: domains[0].evaluation.limit',
    ]) {
      expect(ALL.some((b) => b.name.startsWith(name)), name).toBe(true);
    }
  });

  it.each(ALL.map((b) => [b.name, b] as const))('refuses %s, naming the field', (_name, b: BadConfig) => {
    const problems = problemsOf(b.config);
    expect(problems.length).toBeGreaterThan(0);
    const hit = problems.find((p) => p.path === b.path && (!b.message || b.message.test(p.message)));
    expect(hit, `expected a problem at ${b.path}${b.message ? ` matching ${b.message}` : ''}; got ${JSON.stringify(problems)}`).toBeDefined();
    expect(hit!.message.trim().length).toBeGreaterThan(3);
    // Every problem is one line: the CLI prints one per line.
    for (const p of problems) expect(p.message).not.toContain('\n');
  });
});

describe('the nanoflux binary refuses a sample of them with every field path', () => {
  // Spread over the kinds, plus the issue's own examples; every third one as YAML.
  const SAMPLE = standardSample(ALL);
  const files = SAMPLE.map((b, i) => {
    const file = join(dir, `sample-${i}${i % 3 === 2 ? '.yaml' : '.json'}`);
    writeFileSync(file, i % 3 === 2 ? stringify(b.config) : JSON.stringify(b.config, null, 2));
    return file;
  });

  it('validate (every one), validate --json and run (some): exit 2, a header and one line per problem, no stack trace', async () => {
    expect(SAMPLE.length).toBe(15);
    expect(new Set(SAMPLE.map((b) => b.kind)).size).toBe(15); // every kind
    // Each start of the binary costs about a second of CPU: --json and run on a third each.
    const jsonIdx = SAMPLE.map((_, i) => i).filter((i) => i % 3 === 1);
    const runIdx = SAMPLE.map((_, i) => i).filter((i) => i % 3 === 0).slice(0, 4);
    const results = await cliAll([
      ...files.map((f) => ['validate', '--config', f]),
      ...jsonIdx.map((i) => ['validate', '--config', files[i]!, '--json']),
      ...runIdx.map((i) => ['run', '--config', files[i]!]),
    ]);
    const text = results.slice(0, files.length);
    const json = results.slice(files.length, files.length + jsonIdx.length);
    const run = results.slice(files.length + jsonIdx.length);

    /** The text form on stderr: the header, then exactly one line per problem, the broken field among them. */
    const expectListed = (r: CliResult, b: BadConfig, file: string) => {
      const label = `${r.args.join(' ')} (${b.name})`;
      const problems = problemsOf(b.config);
      const n = problems.length;
      expect(r.stderr, label).not.toMatch(STACK);
      const [head, ...lines] = r.stderr.trimEnd().split('\n');
      expect(head, label).toBe(`nanoflux: ${file}: invalid run config (${n} problem${n === 1 ? '' : 's'}); fix these fields and check with \`nanoflux validate --config ${file}\`:`);
      expect(lines, label).toEqual(problems.map((p) => `  - ${p.path}: ${p.message}`));
      expect(lines.some((l) => l.startsWith(`  - ${b.path}: `)), label).toBe(true);
    };
    SAMPLE.forEach((b, i) => {
      const r = text[i]!;
      expect(r.status, `${b.name}\n${r.stderr}`).toBe(2);
      expect(r.stdout, b.name).toBe('');
      expectListed(r, b, files[i]!);
    });
    runIdx.forEach((i, k) => {
      const r = run[k]!;
      expect(r.status, `${SAMPLE[i]!.name}\n${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expectListed(r, SAMPLE[i]!, files[i]!);
    });
    jsonIdx.forEach((i, k) => {
      const b = SAMPLE[i]!;
      const r = json[k]!;
      expect(r.status, b.name).toBe(2);
      const doc = JSON.parse(r.stdout) as { valid: boolean; problems: ConfigProblem[] };
      expect(doc, b.name).toEqual({ valid: false, problems: problemsOf(b.config) });
      expect(doc.problems.some((p) => p.path === b.path && p.message.length > 0), b.name).toBe(true);
      // stderr: nothing, or the same list as text (never a stack trace).
      if (r.stderr !== '') expectListed(r, b, files[i]!);
    });
  }, 180_000);
});

describe('config files that do not parse, or cannot be read', () => {
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const demo = JSON.stringify(fullValidConfig(), null, 2);
  const demoYaml = stringify(fullValidConfig());

  it('a JSON or YAML syntax error names the file, line and column in one line, exit 2', async () => {
    const cases: [string, RegExp][] = [
      [write('trailing-comma.json', '{\n  "runId": "x",\n}\n'), /is not valid JSON \(line 3, column 1\)/],
      [write('comment.json', '{\n  // the run\n  "runId": "x"\n}\n'), /is not valid JSON \(line 2, column 3\)/],
      [write('missing-comma.json', '{\n  "runId": "x"\n  "domains": []\n}\n'), /is not valid JSON \(line 3, column 3\)/],
      [write('deep-error.json', demo.replace('"concurrency": 2,', '"concurrency": 2,,')), new RegExp(`is not valid JSON \\(line ${demo.split('\n').findIndex((l) => l.includes('"concurrency": 2,')) + 1}, column `)],
      [write('nested-mapping.yaml', 'runId: x\ndomains:\n  - name: m\n     brief: b\n'), /is not valid YAML \(line 3, column 11\): Nested mappings are not allowed/],
      [write('duplicate-key.yml', 'runId: x\ndomains: []\nrunId: y\n'), /is not valid YAML \(line 3, column 1\): Map keys must be unique/],
      [write('tab-indent.yaml', 'runId: x\ndomains:\n\t- name: m\n'), /is not valid YAML \(line 3, column 1\): Tabs are not allowed as indentation/],
      [write('unclosed-flow.yaml', 'runId: x\ndomains: [a, b\nmodels: {}\n'), /is not valid YAML \(line 3, column 1\)/],
      [write('deep-error.yaml', demoYaml.replace('  concurrency: 2\n', '  concurrency: 2\n   targetHops: 2\n')), new RegExp(`is not valid YAML \\(line ${demoYaml.split('\n').indexOf('  concurrency: 2') + 1}, column `)],
      // No extension: YAML unless it starts with `{`.
      [write('no-extension', 'runId: x\ndomains:\n  - name: m\n     brief: b\n'), /is not valid YAML \(line 3, column 11\)/],
      [write('no-extension-json', '{\n  "runId": "x",\n}\n'), /is not valid JSON \(line 3, column 1\)/],
    ];
    const results = await cliAll(cases.map(([f]) => ['validate', '--config', f]));
    results.forEach((r, i) => expectOneLineUsageError(r, new RegExp(`config ${escape(cases[i]![0])} ${cases[i]![1].source}.*; fix the file`)));
  }, 120_000);

  it('an unreadable, empty or non-object file is refused with what is wrong, exit 2', async () => {
    const folder = join(dir, 'a-folder.json');
    mkdirSync(folder, { recursive: true });
    const empty = write('empty.json', '');
    const emptyYaml = write('empty.yaml', '');
    const list = write('list.yaml', '- runId: x\n');
    const results = await cliAll([
      ['validate', '--config', join(dir, 'missing.json')],
      ['run', '--config', join(dir, 'missing.yaml')],
      ['validate', '--config', folder],
      ['validate', '--config', empty],
      ['validate', '--config', emptyYaml],
      ['validate', '--config', list, '--json'],
    ]);
    expectOneLineUsageError(results[0]!, /cannot read config .*missing\.json: ENOENT; check the path/);
    expectOneLineUsageError(results[1]!, /cannot read config .*missing\.yaml: ENOENT; check the path/);
    expectOneLineUsageError(results[2]!, /cannot read config .*a-folder\.json: EISDIR; check the path/);
    expectOneLineUsageError(results[3]!, /config .*empty\.json is not valid JSON.*; fix the file/);
    // An empty YAML document is null: refused at the root, as a config that is not an object.
    expect(results[4]!.status).toBe(2);
    expect(results[4]!.stderr).toMatch(/empty\.yaml: invalid run config \(1 problem\).*\n {2}- \(root\): .*expected object/);
    expect(results[5]!.status).toBe(2);
    expect(JSON.parse(results[5]!.stdout)).toEqual({ valid: false, problems: [{ path: '(root)', message: expect.stringMatching(/expected object, received array/) }] });
    for (const r of results) expect(r.stderr).not.toMatch(STACK);
  }, 120_000);
});

describe('unknown flags and commands', () => {
  it('are refused with exit 2 and one line naming them, before any file is read or server called', async () => {
    const good = join(PROJECT_ROOT, 'configs', 'demo.json');
    const cases: [string[], RegExp][] = [
      [['validate', '--config', good, '--colour'], /unknown option '--colour'; see `nanoflux validate --help`/],
      [['run', '--config', good, '--dry-run'], /unknown option '--dry-run'; see `nanoflux run --help`/],
      [['--verbose', 'validate', '--config', good], /unknown option '--verbose'/],
      [['resume-from', 'earlier', '--config', good, '--force'], /unknown option '--force'; see `nanoflux resume-from --help`/],
      [['score', '--benchmark', 'gsm8k', '--predictions', good, '--limit', '5'], /unknown option '--limit'; see `nanoflux score --help`/],
      [['validate', '--config'], /option '--config <file>' argument missing/],
      [['valdate', '--config', good], /unknown command 'valdate'.*Did you mean validate\?/],
    ];
    const results = await cliAll(cases.map(([args]) => args));
    results.forEach((r, i) => expectOneLineUsageError(r, cases[i]![1]));
  }, 120_000);
});

describe('benchmark, baseline and prediction files with a broken line name file:line', () => {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  /** Line 1 good, line 2 blank (it must not shift the count), line 3 good, line 4 `broken`, line 5 good. */
  const jsonl = (name: string, good: object, broken: string, eol = '\n') => {
    const f = join(data, name);
    writeFileSync(f, [JSON.stringify(good), '', JSON.stringify(good), broken, JSON.stringify(good), ''].join(eol));
    return f;
  };
  const gsm = { question: 'Ann has 3 apples and buys 4. How many?', answer: '3 + 4 = 7\n#### 7' };
  const mcq = { question: 'Which is even?', options: { A: '3', B: '4' }, answer: 'B' };
  const chat = { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'Answer: 7' }] };
  const pred = { id: '0', prediction: 'Answer: 7' };
  const TRUNCATED = '{"question": "broken", "answer": ';

  it.each([
    ['gsm8k, invalid JSON', () => loadBenchmark('gsm8k', jsonl('gsm-json.jsonl', gsm, TRUNCATED)), 'gsm-json.jsonl', /invalid JSON line/],
    ['gsm8k, no #### answer', () => loadBenchmark('gsm8k', jsonl('gsm-answer.jsonl', gsm, '{"question": "q", "answer": "seven"}')), 'gsm-answer.jsonl', /"answer" has no "#### <number>" line/],
    ['gsm8k, CRLF line ends', () => loadBenchmark('gsm8k', jsonl('gsm-crlf.jsonl', gsm, '{"answer": "#### 1"}', '\r\n')), 'gsm-crlf.jsonl', /no "question" string/],
    ['gsmhard, target not a number', () => loadBenchmark('gsmhard', jsonl('gsmhard.jsonl', { input: 'q', target: 7 }, '{"input": "q", "target": "seven"}')), 'gsmhard.jsonl', /"target" is not a number/],
    ['mcq, invalid JSON', () => loadBenchmark('mcq', jsonl('mcq-json.jsonl', mcq, '{"question": "q", options: []}')), 'mcq-json.jsonl', /invalid JSON line/],
    ['mcq, one option', () => loadBenchmark('mcq', jsonl('mcq-options.jsonl', mcq, '{"question": "q", "options": ["only"], "answer": "A"}')), 'mcq-options.jsonl', /"options" needs 2 to 26 entries/],
    ['mcq, answer not an option', () => loadBenchmark('mcq', jsonl('mcq-answer.jsonl', mcq, '{"question": "q", "options": {"A": "1", "B": "2"}, "answer": "C"}')), 'mcq-answer.jsonl', /"answer" must be one of the option letters A, B/],
    ['baseline chat, invalid JSON', () => baselineRows({ name: 'full-train', data: 'x', format: 'chat' }, jsonl('chat-json.jsonl', chat, '{"messages": [')), 'chat-json.jsonl', /invalid JSON line/],
    ['baseline chat, no assistant turn', () => baselineRows({ name: 'full-train', data: 'x', format: 'chat' }, jsonl('chat-turn.jsonl', chat, '{"messages": [{"role": "user", "content": "q"}]}')), 'chat-turn.jsonl', /with an assistant turn/],
    ['baseline gsm8k, no ####', () => baselineRows({ name: 'full-train', data: 'x', format: 'gsm8k' }, jsonl('baseline-gsm.jsonl', gsm, '{"question": "q", "answer": "7"}')), 'baseline-gsm.jsonl', /ending in "#### <answer>"/],
    ['baseline mcq, invalid JSON', () => baselineRows({ name: 'full-train', data: 'x', format: 'mcq' }, jsonl('baseline-mcq.jsonl', mcq, '{"question": "q",')), 'baseline-mcq.jsonl', /invalid JSON line/],
    ['predictions, invalid JSON', () => loadPredictions(jsonl('preds-json.jsonl', pred, '{"id": "3", "prediction": "7"')), 'preds-json.jsonl', /invalid JSON line/],
    ['predictions, no prediction', () => loadPredictions(jsonl('preds-field.jsonl', pred, '{"id": "3", "answer": "7"}')), 'preds-field.jsonl', /no "prediction" string/],
    ['predictions, not an object', () => loadPredictions(jsonl('preds-array.jsonl', pred, '["7"]')), 'preds-array.jsonl', /expected an object/],
  ] as const)('%s: line 4, counting the blank line 2', (_name, load, file, reason) => {
    expect(load).toThrow(new RegExp(`${escape(join(data, file))}:4: .*${reason.source}`));
  });

  it('a PubMedQA file with a bad label names its PMID', () => {
    const f = join(data, 'pubmedqa-label.json');
    writeFileSync(f, JSON.stringify({ 1: { QUESTION: 'q?', final_decision: 'yes' }, 2: { QUESTION: 'q?', final_decision: 'perhaps' } }, null, 2));
    expect(() => loadBenchmark('pubmedqa', f)).toThrow(`${f}: PMID 2: label "perhaps" is not yes/no/maybe`);
  });

  it('nanoflux score names the broken line of the predictions or the benchmark file: exit 1, JSON on stdout', async () => {
    const preds = jsonl('score-preds.jsonl', pred, '{"id": "3", "prediction": ');
    const goodPreds = join(data, 'score-good.jsonl');
    writeFileSync(goodPreds, `${JSON.stringify(pred)}\n`);
    const mcqFile = jsonl('score-mcq.jsonl', mcq, '{"question": "q", "options": {"A": "1"}, "answer": "A"}');
    const results = await cliAll([
      ['score', '--benchmark', 'gsm8k', '--predictions', preds],
      ['score', '--benchmark', 'mcq', '--data', mcqFile, '--predictions', goodPreds],
      ['score', '--benchmark', 'mmlu', '--predictions', goodPreds],
    ]);
    const [p, m, unknown] = results as [CliResult, CliResult, CliResult];
    expect(p.status, p.stderr).toBe(1);
    expect(JSON.parse(p.stdout)).toEqual({ error: expect.stringMatching(new RegExp(`^${escape(preds)}:4: invalid JSON line`)) });
    expect(m.status, m.stderr).toBe(1);
    expect(JSON.parse(m.stdout)).toEqual({ error: `${mcqFile}:4: "options" needs 2 to 26 entries` });
    expect(unknown.status).toBe(2);
    expect(JSON.parse(unknown.stdout)).toEqual({ error: expect.stringMatching(/unknown --benchmark "mmlu"; one of: gsm8k, gsmhard, pubmedqa, mcq/) });
    for (const r of results) expect(r.stderr).not.toMatch(STACK);
  }, 120_000);
});

describe('bad input beyond what the zod schema and the JSON parser check by themselves', () => {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  it('a PubMedQA file with a broken line names file:line', () => {
    const good = (q: string) => `  "${q}": {"QUESTION": "q?", "CONTEXTS": ["c"], "final_decision": "yes"}`;
    const files = {
      'pubmedqa-comma.json': ['{', good('1') + ',', '', good('2'), good('3'), '}'],
      'pubmedqa-token.json': ['{', good('1') + ',', '', good('2').replace('"yes"', 'yes') + ',', good('3'), '}'],
    };
    for (const [name, lines] of Object.entries(files)) {
      const f = join(data, name);
      writeFileSync(f, lines.join('\n'));
      let message = '';
      try {
        loadBenchmark('pubmedqa', f);
      } catch (e) {
        message = (e as Error).message;
      }
      // A missing comma shows where the next token stands (line 5), as every JSON parser reports it.
      expect(message, name).toMatch(new RegExp(`^${escape(f)}:${name === 'pubmedqa-comma.json' ? 5 : 4}(:\\d+)?: `));
      expect(message, name).not.toContain('\n');
    }
  });

  it('adaptiveComplexity with min above max is refused at generation.adaptiveComplexity.min', () => {
    const c = fullValidConfig() as { generation: { adaptiveComplexity: Record<string, Json> } };
    Object.assign(c.generation.adaptiveComplexity, { min: 5, max: 1 });
    expect(problemsOf(c as unknown as Json)).toContainEqual({ path: 'generation.adaptiveComplexity.min', message: expect.any(String) });
  });

  it('a URL without http:// or https:// is refused at its field', () => {
    const fields: [string, (c: Record<string, any>, url: string) => void][] = [
      ['models.a.baseURL', (c, u) => (c.models.a.baseURL = u)],
      ['judge.mcpServers[1].url', (c, u) => (c.judge.mcpServers[1].url = u)],
      ['finetune.baseURL', (c, u) => (c.finetune.baseURL = u)],
      ['evaluate.endpoint.baseURL', (c, u) => (c.evaluate.endpoint.baseURL = u)],
    ];
    for (const [path, set] of fields) {
      for (const url of ['localhost:8000/v1', 'ftp://example.com/v1', 'http:/localhost/v1']) {
        const c = fullValidConfig() as Record<string, any>;
        set(c, url);
        expect(problemsOf(c as Json).map((p) => p.path), `${path} = ${url}`).toContain(path);
      }
    }
  });

  it('JSON a reader cannot place still gets a line and column, on one line', async () => {
    const write = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const cases: [string, RegExp][] = [
      [write('bare-word.json', '{\n  "runId": "x",\n  "domains": nope\n}\n'), /is not valid JSON \(line 3, column 14\)/],
      [write('truncated.json', '{\n  "runId": "x",\n  "domains": [\n'), /is not valid JSON \(line [34], column \d+\)/],
      [write('bom.json', `\uFEFF${JSON.stringify(fullValidConfig())}`), /./],
      [write('unresolved-alias.yaml', 'runId: x\ndomains: *nope\n'), /is not valid YAML \(line 2, column 10\)/],
    ];
    const results = await cliAll(cases.map(([f]) => ['validate', '--config', f]));
    // A byte-order mark (as Windows editors write) is not an error.
    expect(results[2]!.status, results[2]!.stderr).toBe(0);
    results.forEach((r, i) => {
      if (i !== 2) expectOneLineUsageError(r, cases[i]![1]);
    });
  }, 120_000);

  it('a misspelt required flag is named as unknown, not reported as the flag it was meant to be missing', async () => {
    const good = join(PROJECT_ROOT, 'configs', 'demo.json');
    const [r] = await cliAll([['validate', '--cofig', good]]);
    expectOneLineUsageError(r!, /unknown option '--cofig'.*Did you mean --config\?.*`nanoflux validate --help`/);
  }, 60_000);
});
