import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, type ModelRef } from '../../common/config.js';
import { rate } from '../../common/stats.js';
import type { CalibrationReport } from '../../common/contracts/calibration.js';
import type { EpisodeRecord } from '../../activities/store/ledger.js';
import { newProgress } from '../../workflows/logic/progress.js';
import type { DomainStatus } from '../../workflows/messages.js';
import { checkGguf, parseDemoArgs, players, serverModel, withPlayers } from '../../scripts/lib/demo-args.js';
import { acceptedLines, calibrationLines, failedLine, honestyLine, nothingAcceptedLine, rejectionLine, verificationLine } from '../../scripts/lib/demo-summary.js';
import { OperationalError, UserError } from '../../scripts/lib/errors.js';
import { startScriptedOpenAI, type ScriptedOpenAI } from '../support/scripted-openai.js';
import demoConfig from '../../configs/demo.json' with { type: 'json' };

const ROOT = '/project';

describe('npm run demo arguments', () => {
  it('default to configs/demo.json, keep a positional config, and take --flag value or --flag=value', () => {
    expect(parseDemoArgs([], ROOT)).toEqual({ configPath: '/project/configs/demo.json', help: false });
    expect(parseDemoArgs(['configs/demo-finetune.json'], ROOT).configPath).toBe('configs/demo-finetune.json');
    expect(parseDemoArgs(['--base-url=http://127.0.0.1:8080/v1/', '--model', 'qwen3:8b', '--api-key-env', 'MY_KEY'], ROOT)).toEqual({
      configPath: '/project/configs/demo.json',
      help: false,
      baseURL: 'http://127.0.0.1:8080/v1',
      model: 'qwen3:8b',
      apiKeyEnv: 'MY_KEY',
    });
    expect(parseDemoArgs(['-h'], ROOT).help).toBe(true);
  });

  it.each([
    [['--bogus'], /unknown option --bogus/],
    [['--model'], /--model needs a value/],
    [['--model', '--base-url', 'http://x/v1'], /--model needs a value/],
    [['--model', 'a', '--model', 'b'], /--model is given twice/],
    [['a.json', 'b.json'], /one config file at most/],
    [['--base-url', 'localhost:8080/v1'], /http:\/\/ or https:\/\//],
    [['--base-url', 'not a url'], /is not a URL/],
    [['--api-key-env', 'K'], /--api-key-env goes with --base-url/],
    [['--base-url', 'http://x/v1', '--api-key-env', 'sk-abc'], /the NAME of an environment variable/],
  ])('refuse %j in one line that points at --help', (argv, message) => {
    let err: unknown;
    try {
      parseDemoArgs(argv, ROOT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/see `npm run demo -- --help`$/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('take a GGUF file or the alias as --model, and refuse a missing or non-GGUF file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-gguf-'));
    writeFileSync(join(dir, 'm.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(16)]));
    writeFileSync(join(dir, 'notes.gguf'), 'hello');
    expect(checkGguf('smollm2-135m')).toBe('smollm2-135m');
    expect(checkGguf(join(dir, 'm.gguf'))).toBe(join(dir, 'm.gguf'));
    expect(() => checkGguf(join(dir, 'notes.gguf'))).toThrow(/is not a GGUF file/);
    expect(() => checkGguf(join(dir, 'missing.gguf'))).toThrow(/no such file/);
    expect(() => checkGguf(dir)).toThrow(/is not a file/);
  });
});

describe('the demo against an OpenAI-compatible server', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => {
    server = await startScriptedOpenAI();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('uses the named model, or the first the server lists at /models', async () => {
    expect(await serverModel(server.baseURL, 'named', undefined)).toBe('named');
    server.intercept((r) => (r.method === 'GET' && r.path.endsWith('/models') ? { rawBody: JSON.stringify({ object: 'list', data: [{ id: 'served-model' }, { id: 'other' }] }) } : undefined));
    expect(await serverModel(server.baseURL, undefined, 'k')).toBe('served-model');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer k');
    server.intercept(undefined);
    // The scripted server has no /models route (404), like a server that lists nothing.
    await expect(serverModel(server.baseURL, undefined, undefined)).rejects.toThrow(/lists no model \(HTTP 404\); name it with --model/);
  });

  it('refuses a server that does not answer before any run starts', async () => {
    const dead = await startScriptedOpenAI();
    const url = dead.baseURL;
    await dead.close();
    await expect(serverModel(url, 'm', undefined)).rejects.toBeInstanceOf(OperationalError);
    await expect(serverModel(url, 'm', undefined)).rejects.toThrow(/no server answers at .*; start it first/);
  });

  it('swaps the three players into the config (each keeps its temperature; the embedding stays), and the result validates', async () => {
    const swap = (await players({ configPath: 'x', help: false, baseURL: server.baseURL, model: 'm', apiKeyEnv: 'DEMO_KEY' }, { DEMO_KEY: 'secret' }))!;
    const raw = withPlayers(demoConfig, swap) as { models: Record<string, ModelRef> };
    expect(raw.models.a).toEqual({ provider: 'openai', model: 'm', baseURL: server.baseURL, apiKeyEnv: 'DEMO_KEY', temperature: 0.8 });
    expect(raw.models.judge).toEqual({ provider: 'openai', model: 'm', baseURL: server.baseURL, apiKeyEnv: 'DEMO_KEY' });
    expect(raw.models.embedding).toEqual(demoConfig.models.embedding);
    expect(parseRunConfig(raw).ok).toBe(true);
    // No key variable: none is named, and the model refs send the keyless placeholder (activities/kit/model-refs.ts).
    const keyless = (await players({ configPath: 'x', help: false, baseURL: server.baseURL, model: 'm' }, {}))!;
    expect(keyless({ provider: 'local', model: 'smollm2-135m' })).toEqual({ provider: 'openai', model: 'm', baseURL: server.baseURL });
    await expect(players({ configPath: 'x', help: false, baseURL: server.baseURL, apiKeyEnv: 'UNSET_DEMO_KEY' }, {})).rejects.toThrow(/UNSET_DEMO_KEY: that environment variable is not set/);
    expect(await players({ configPath: 'x', help: false }, {})).toBeUndefined();
  });
});

const domain = (name: string, rejected: Partial<DomainStatus['rejected']>, accepted = 0): DomainStatus => ({
  ...newProgress(name),
  accepted,
  rejected: { ...newProgress(name).rejected, ...rejected },
  verification: { checked: 5, confirmed: 2, acceptedVerified: accepted, judgeOverruled: 1, defendersByRule: 2 },
  stage: 'done',
  inFlight: 0,
  concurrency: 2,
  generation: 0,
  seq: 1,
  targetComplexity: 2,
});

describe('the demo summary', () => {
  const report: CalibrationReport = {
    source: 'gsm8k-train',
    judgeModel: 'smollm2-135m',
    promptVersion: 'v1',
    items: 12,
    byKind: {},
    agreement: { questionValid: rate(9, 12), referenceCorrect: rate(6, 12), defenderCorrect: rate(7, 12) },
    badAccepted: rate(5, 6),
    goodAccepted: rate(3, 3),
    failedCalls: 0,
    minAgreement: 0.75,
    passed: false,
    reasons: ['referenceCorrect agreement 50% < 75%'],
  };

  it('gives the calibration figure, says the run went on past a failed one, or why there is none', () => {
    const [line] = calibrationLines({ calibration: [{ domain: 'math', report, cached: false }] }, 'warn');
    expect(line).toMatch(/^judge calibration \(math\): judge smollm2-135m FAILED calibration on 12 gsm8k-train items: questionValid 75%/);
    expect(line).toMatch(/accepts 83% of bad items\. The run went on \(onFail "warn"\): the executed check below, not this Judge, is the gate/);
    expect(calibrationLines({ calibration: [{ domain: 'med', skipped: 'no labelled calibration set' }] }, 'pause')).toEqual(['judge calibration (med): skipped: no labelled calibration set']);
    expect(calibrationLines({}, undefined)[0]).toMatch(/skipped \(judge.calibration is false/);
  });

  it('sums rejections over domains, shows only those that happened, and tallies the executed check', () => {
    const st = { domains: { math: domain('math', { reference_unverified: 3, prompt_leak: 1 }, 1), more: domain('more', { reference_unverified: 1, defender_correct: 2 }) }, episodes: 8 };
    expect(rejectionLine(st)).toBe('rejections by reason: reference_unverified 4, defender_correct 2, prompt_leak 1');
    expect(rejectionLine({ domains: { math: domain('math', {}) } })).toBe('rejections by reason: none');
    expect(verificationLine(st)).toBe('executed check: 4 of 10 references confirmed by their program; 1 of 1 accepted examples have a confirmed reference; the Judge overruled 2×');
    expect(nothingAcceptedLine(st)).toBe('no example was accepted in 8 episodes (rejected for the reasons above), so there is no dataset to show');
  });

  it('shows each accepted example with its stated answer beside what its program printed', () => {
    const rec = (episode: number, outcome: 'accepted' | 'defender_correct', stdout: string, verified: boolean): EpisodeRecord => ({
      workflowId: `w${episode}`,
      runId: 'r',
      domain: 'math',
      episode,
      summary: { episode, workflowId: `w${episode}`, attackerSlot: 'a', topic: 't', targetComplexity: 2, outcome, tokens: { attacker: 1, defender: 1, judge: 1, embedding: 0 }, toolCalls: 0 },
      transcript: {
        attack: { question: 'Tom buys 3 pens\nat 4 dollars each. How much does he pay?', referenceAnswer: '12', solutionSteps: ['3 * 4 = 12'], skill: 's', annotation: 'a', program: 'print(3 * 4)' },
        verification: { method: 'program', referenceVerified: verified, detail: 'd', program: { code: 'print(3 * 4)', stdout, durationMs: 5 }, defenderDecidedBy: ['rule'], disagreements: { reference: false, defenders: 0 } },
      },
    });
    const lines = acceptedLines([rec(1, 'defender_correct', '12\n', true), rec(2, 'accepted', 'working\n12\n', true)]);
    expect(lines).toEqual([
      '  math #2: Tom buys 3 pens at 4 dollars each. How much does he pay?',
      '      stated answer "12" · program printed "12" · program: print(3 * 4)',
    ]);
    expect(acceptedLines([rec(3, 'accepted', '13\n', false)])[1]).toContain('program printed "13" (NOT the stated answer)');
    const failed = { ...rec(4, 'accepted', '', true), summary: { ...rec(4, 'accepted', '', true).summary, outcome: 'failed' as const, error: 'ModelOutputInvalid: attack: no valid answer after 3 attempt(s)' } };
    expect(failedLine([rec(1, 'defender_correct', '12', true), failed])).toBe('1 of 2 episodes failed, e.g. #4: ModelOutputInvalid: attack: no valid answer after 3 attempt(s)');
    expect(failedLine([rec(1, 'defender_correct', '12', true)])).toBeUndefined();
  });

  it('says plainly what the examples are: the embedded model only exercises the pipeline', () => {
    expect(honestyLine('smollm2-135m (in-process)', true, 2)).toMatch(/^the embedded 135M model only exercises the pipeline: .*not a dataset to train on/);
    expect(honestyLine('smollm2-135m (in-process)', true, 0)).toMatch(/nothing it wrote got through, and that is not a dataset to train on/);
    expect(honestyLine('qwen at http://h/v1', false, 0)).toBe('nothing that qwen at http://h/v1 wrote got through the gate in this run');
    expect(honestyLine('qwen at http://h/v1', false, 3)).toMatch(/read them \(and the Judge's calibration above\) before training on them/);
  });
});
