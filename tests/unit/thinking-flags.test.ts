import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluateSchema, FineTuneSchema } from '../../common/config.js';
import { createStageActivities } from '../../activities/stages/activities.js';
import { endpointRequest, evaluateBatchFile } from '../../activities/stages/eval/run-eval.js';
import { localFineTuneBackend } from '../../activities/stages/finetune/local-backend.js';
import * as L from '../../activities/stages/layout.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

/**
 * Where the thinking switch and the token match leave the worker (issue 14, item 2): the trainer's
 * command line (a scripted trainer in the NANOFLUX_PYTHON slot records it and answers as the real
 * one's summary.json does) and the body of an endpoint evaluation request (a real HTTP server).
 */

const dir = mkdtempSync(join(tmpdir(), 'nanoflux-thinking-'));
const log = join(dir, 'argv.jsonl');

/**
 * The trainer's contract as the local backend reads it: `train` leaves summary.json (with the seed,
 * thinking and token budget it ran with) and an adapter; `evaluate` writes one prediction per item.
 */
const TRAINER = `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(argv) + '\\n');
const arg = (k) => { const i = argv.indexOf(k); return i === -1 ? undefined : argv[i + 1]; };
if (argv[2] === 'train') {
  const out = arg('--out'), ref = arg('--match-tokens-of');
  fs.mkdirSync(path.join(out, 'adapter'), { recursive: true });
  const summary = { base_model: arg('--model'), epochs: Number(arg('--epochs')), steps: 3, train_tokens: 4300, train_s: 1, first_loss: 2, last_loss: 1,
    lora_r: Number(arg('--lora-r')), lr: Number(arg('--lr')), seed: Number(arg('--seed')), resumed_from: null,
    thinking: arg('--thinking') === undefined ? null : arg('--thinking') === 'on',
    token_budget: ref ? 4242 : null, match_tokens_sha256: ref ? crypto.createHash('sha256').update(fs.readFileSync(ref)).digest('hex') : null };
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary));
} else {
  const items = fs.readFileSync(arg('--items'), 'utf8').trim().split('\\n').map((l) => JSON.parse(l));
  fs.writeFileSync(arg('--out'), items.map((i) => JSON.stringify({ id: i.id, prediction: 'Answer: 1' })).join('\\n') + '\\n');
}
console.log(JSON.stringify({ event: 'done' }));
`;

const calls = (): string[][] => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
const flag = (argv: string[], name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

const trainer = join(dir, 'trainer.js');
writeFileSync(trainer, TRAINER, { mode: 0o755 });
const env = { ...process.env, NANOFLUX_PYTHON: trainer };

function stageHome() {
  const home = mkdtempSync(join(dir, 'home-'));
  const acts = createStageActivities({ home, datasetsDir: dir, fineTuneBackend: () => localFineTuneBackend({ env }) });
  const write = (variant: string, text: string) => {
    mkdirSync(L.variantDir(home, 'r', 'd', variant), { recursive: true });
    writeFileSync(L.trainDataPath(home, 'r', 'd', variant), text);
  };
  return { home, acts, write };
}

describe('the trainer command', () => {
  it('always carries the thinking switch, and --match-tokens-of the tuned file for a baseline under match "tokens"', async () => {
    const { home, acts, write } = stageHome();
    const row = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Answer: 1"}]}\n';
    for (const v of ['tuned', 'full-train', 'ablation-size-50-s1']) write(v, row);
    const finetune = FineTuneSchema.parse({ baseModel: '/models/student', epochs: 3, training: { match: 'tokens' } });
    const train = (variant: string, f = finetune) => acts.fineTune({ runId: 'r', domain: 'd', variant, finetune: f });

    const tuned = await train('tuned');
    const full = await train('full-train');
    const cut = await train('ablation-size-50-s1');
    const [t, b, c] = calls().slice(-3);
    expect(flag(t!, '--thinking')).toBe('off');
    expect(flag(b!, '--thinking')).toBe('off');
    expect(flag(t!, '--match-tokens-of')).toBeUndefined();
    expect(flag(b!, '--match-tokens-of')).toBe(L.trainDataPath(home, 'r', 'd', 'tuned'));
    expect(flag(c!, '--match-tokens-of')).toBeUndefined(); // a size cut is its size
    expect(tuned.budget).toEqual({ by: 'epochs', epochs: 3 });
    expect(cut.budget).toEqual({ by: 'epochs', epochs: 3 });
    expect(full.budget).toEqual({ by: 'tokens', tokens: 4242, of: 'tuned' });

    // Finished with these settings: not trained again. A grown NanoFlux set is another budget: trained again.
    const before = calls().length;
    await train('full-train');
    expect(calls()).toHaveLength(before);
    write('tuned', row + row);
    await train('full-train');
    expect(calls()).toHaveLength(before + 1);
    // Thinking switched on: another job, and the command says so.
    await train('tuned', { ...finetune, training: { ...finetune.training, thinking: true } });
    expect(flag(calls().at(-1)!, '--thinking')).toBe('on');
  });

  it('is refused for a baseline matched to a tuned set that was never written', async () => {
    const { acts, write } = stageHome();
    write('full-train', '{}\n');
    const finetune = FineTuneSchema.parse({ baseModel: '/models/student', training: { match: 'tokens' } });
    const err = await acts.fineTune({ runId: 'r', domain: 'd', variant: 'full-train', finetune }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'MissingResource', nonRetryable: true, message: expect.stringContaining('finetune.training.match "tokens" (the tuned training file)') });
  });

  it("evaluation by the trainer says the switch: off unless evaluate.thinking is on", async () => {
    const items = join(dir, 'items.jsonl');
    writeFileSync(items, '{"id":"a","system":"S","prompt":"Q?"}\n');
    for (const [thinking, expected] of [[undefined, 'off'], [false, 'off'], [true, 'on']] as const) {
      const outPath = join(dir, `pred-${String(thinking)}.jsonl`);
      const evaluate = EvaluateSchema.parse(thinking === undefined ? {} : { thinking });
      await evaluateBatchFile({ itemsPath: items, outPath, target: { variant: 'base', baseModel: '/models/student' }, evaluate, signal: new AbortController().signal, progress: () => {} }, env);
      expect(flag(calls().at(-1)!, '--thinking')).toBe(expected);
    }
  });
});

describe('an endpoint evaluation request', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => {
    server = await startScriptedOpenAI(() => ({ content: 'Answer: 1' }));
  });
  afterAll(() => server.close());

  it('carries the system prompt, and chat_template_kwargs.enable_thinking only when evaluate.thinking is set', async () => {
    const items = join(dir, 'endpoint-items.jsonl');
    writeFileSync(items, '{"id":"a","system":"Give the final answer only.","prompt":"Q?"}\n{"id":"b","prompt":"R?"}\n');
    const bodies = async (thinking: boolean | undefined) => {
      const from = server.chatRequests().length;
      const evaluate = EvaluateSchema.parse({ via: 'endpoint', endpoint: { baseURL: server.baseURL, apiKeyEnv: 'NANOFLUX_TEST_KEY' }, concurrency: 1, ...(thinking === undefined ? {} : { thinking }) });
      const outPath = join(dir, `endpoint-${String(thinking)}.jsonl`);
      await evaluateBatchFile({ itemsPath: items, outPath, target: { variant: 'base', baseModel: 'served-base' }, evaluate, signal: new AbortController().signal, progress: () => {} }, { NANOFLUX_TEST_KEY: 'k' });
      return server.chatRequests().slice(from).map((r) => r.body as Record<string, unknown>);
    };
    const off = await bodies(false);
    expect(off.map((b) => b.chat_template_kwargs)).toEqual([{ enable_thinking: false }, { enable_thinking: false }]);
    expect(off[0]!.messages).toEqual([{ role: 'system', content: 'Give the final answer only.' }, { role: 'user', content: 'Q?' }]);
    expect(off[1]!.messages).toEqual([{ role: 'user', content: 'R?' }]); // a batch written before system prompts
    expect((await bodies(true)).map((b) => b.chat_template_kwargs)).toEqual([{ enable_thinking: true }, { enable_thinking: true }]);
    expect((await bodies(undefined)).every((b) => !('chat_template_kwargs' in b))).toBe(true);
  });
});

describe('an evaluation request as the served model takes it', () => {
  const item = { id: 'q1', prompt: 'How many?', system: 'Answer.' };
  it('greedy for a model that takes a temperature; no temperature for a reasoning model; the cap under the family\'s field', () => {
    expect(endpointRequest('ft:gpt-4.1-mini:org::abc', item, { maxNewTokens: 256 })).toEqual({
      model: 'ft:gpt-4.1-mini:org::abc',
      messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: 'How many?' }],
      max_completion_tokens: 256,
      temperature: 0,
    });
    const o = endpointRequest('o4-mini-2025-04-16', item, { maxNewTokens: 256 });
    expect(o).not.toHaveProperty('temperature');
    expect(o).toMatchObject({ max_completion_tokens: 256 });
    expect(o).not.toHaveProperty('max_tokens');
  });
  it('the thinking switch goes to a self-hosted server as a chat-template variable, never to OpenAI\'s API', () => {
    expect(endpointRequest('student', item, { maxNewTokens: 64, thinking: false, endpoint: { baseURL: 'http://127.0.0.1:8000/v1' } })).toMatchObject({ chat_template_kwargs: { enable_thinking: false }, temperature: 0 });
    expect(endpointRequest('student', item, { maxNewTokens: 64, thinking: false })).not.toHaveProperty('chat_template_kwargs');
  });
});
