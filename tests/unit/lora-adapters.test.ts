import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluateSchema } from '../../common/config.js';
import { adapterServedName } from '../../activities/stages/eval/lora-adapters.js';
import { evaluateBatchFile } from '../../activities/stages/eval/run-eval.js';
import { stageSettings } from '../../activities/stages/reuse.js';

/**
 * The vLLM evaluation route: adapters loaded into a running server at evaluation time. The server
 * here is a double of vLLM's runtime-LoRA API (POST /v1/load_lora_adapter, "already been loaded" on
 * a repeat, 404 when runtime updating is off) and its chat completions: vLLM needs a GPU, which
 * this machine does not have. The requests are the real ones, through the real openai client.
 */
const dir = mkdtempSync(join(tmpdir(), 'nanoflux-lora-'));

function adapter(name: string, weights: string): string {
  const d = join(dir, name, 'adapter');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'adapter_config.json'), '{"r": 16}');
  writeFileSync(join(d, 'adapter_model.safetensors'), weights);
  return d;
}

describe('evaluate.endpoint.loadAdapters (vLLM runtime LoRA)', () => {
  let server: Server;
  let baseURL: string;
  let runtimeLoRA = true;
  const loaded = new Map<string, string>();
  const loads: unknown[] = [];
  const asked: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const send = (status: number, b: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(b));
        const j = body ? JSON.parse(body) : {};
        if (req.url === '/v1/load_lora_adapter') {
          if (!runtimeLoRA) return send(404, { detail: 'Not Found' });
          loads.push(j);
          if (loaded.has(j.lora_name)) return send(400, { object: 'error', message: `The lora adapter '${j.lora_name}' has already been loaded.`, type: 'InvalidUserInput', code: 400 });
          loaded.set(j.lora_name, j.lora_path);
          return res.writeHead(200).end(`Success: LoRA adapter '${j.lora_name}' added successfully.`);
        }
        if (req.url === '/v1/chat/completions') {
          asked.push(j.model);
          if (j.model !== 'Qwen/Qwen3-4B' && !loaded.has(j.model)) return send(404, { object: 'error', message: `The model \`${j.model}\` does not exist.`, code: 404 });
          return send(200, { id: 'c', object: 'chat.completion', created: 0, model: j.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Answer: 4' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } });
        }
        send(404, { detail: 'Not Found' });
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const items = join(dir, 'items.jsonl');
  writeFileSync(items, ['1', '2'].map((id) => JSON.stringify({ id, prompt: `2 + 2? (${id})` })).join('\n') + '\n');
  const run = (variant: string, adapterDir: string | undefined, out: string) => ({
    itemsPath: items,
    outPath: join(dir, out, 'batch-000.jsonl'),
    target: { variant, baseModel: 'Qwen/Qwen3-4B', ...(adapterDir ? { trained: { kind: 'adapter' as const, model: adapterDir } } : {}) },
    evaluate: EvaluateSchema.parse({ via: 'endpoint', endpoint: { baseURL, loadAdapters: true }, concurrency: 1 }),
    signal: new AbortController().signal,
    progress: () => undefined,
  });

  it('loads each adapter once under its variant and weights hash, asks under that name, and a retry finds it loaded', async () => {
    const tuned = adapter('tuned', 'weights-A');
    const name = adapterServedName('tuned', tuned);
    expect(name).toMatch(/^tuned-[0-9a-f]{12}$/);
    await evaluateBatchFile(run('tuned', tuned, 'p1'));
    expect(loads).toEqual([{ lora_name: name, lora_path: resolve(tuned) }]);
    expect(asked).toEqual([name, name]);
    expect(readFileSync(join(dir, 'p1', 'batch-000.jsonl'), 'utf8')).toContain('Answer: 4');
    // A second batch (or a retried one) of the same variant: "already been loaded" is success.
    await evaluateBatchFile(run('tuned', tuned, 'p2'));
    expect(loads).toHaveLength(2);
    // The base model is asked under its own name, with nothing loaded.
    await evaluateBatchFile(run('base', undefined, 'p3'));
    expect(loads).toHaveLength(2);
    expect(asked.at(-1)).toBe('Qwen/Qwen3-4B');
  });

  it('serves a retrained adapter under a new name, never the stale one', () => {
    const a = adapter('cut-a', 'weights-1');
    const before = adapterServedName('ablation-size-50-s1', a);
    writeFileSync(join(a, 'adapter_model.safetensors'), 'weights-2');
    expect(adapterServedName('ablation-size-50-s1', a)).not.toBe(before);
    expect(() => adapterServedName('tuned', join(dir, 'nothing-here'))).toThrow(/no LoRA adapter weights in/);
  });

  it('a server without runtime LoRA loading fails the batch for good, saying how to start vLLM', async () => {
    runtimeLoRA = false;
    const e = await evaluateBatchFile(run('full-train', adapter('full', 'weights-F'), 'p4')).catch((x: unknown) => x);
    expect(e).toMatchObject({ type: 'MissingResource', message: expect.stringContaining('VLLM_ALLOW_RUNTIME_LORA_UPDATING=True') });
    runtimeLoRA = true;
  });

  it('leaves the reuse settings of a config without the option as they were', () => {
    const off = EvaluateSchema.parse({ via: 'endpoint', endpoint: { baseURL: 'http://x/v1' } });
    expect(stageSettings(undefined, off)).toBe(JSON.stringify({ finetune: null, evaluate: { via: 'endpoint', endpoint: { baseURL: 'http://x/v1', models: {} }, maxNewTokens: 256, thinking: null } }));
    expect(stageSettings(undefined, { ...off, endpoint: { ...off.endpoint!, loadAdapters: true } })).toContain('"loadAdapters":true');
  });
});
