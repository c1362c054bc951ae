import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { EvaluateConfig } from '../../../common/config.js';
import { readEnv } from '../../../common/env.js';
import { MissingApiKey, MissingResource } from '../../../common/errors.js';
import { fromOpenAIError } from '../../kit/errors.js';
import { chatParameters } from '../../../common/model-capabilities.js';
import { writeFileAtomic } from '../../kit/files.js';
import type { FineTuneResult } from '../../../common/contracts/index.js';
import { studentModelPath, trainerFailure } from '../finetune/local-backend.js';
import { runProcess, trainerEnv, trainerPython } from '../finetune/subprocess.js';
import { readJsonlRows } from '../../kit/files.js';
import type { Prediction } from './score.js';
import { adapterServedName, loadAdapter } from './lora-adapters.js';
import { addResponseUsage, type BatchUsage, trainerEvalUsage, writeBatchUsage } from './usage.js';

/** What a variant is evaluated as: the base model, or what its fine-tune produced. */
export interface EvalTarget {
  variant: string;
  baseModel: string;
  /** Undefined for the base model. */
  trained?: Pick<FineTuneResult, 'kind' | 'model'>;
}

export interface EvalPromptItem {
  id: string;
  prompt: string;
  /** The training template's system prompt (training-data.ts); absent from batches written before it was. */
  system?: string;
}

export interface EvalBatchRun {
  itemsPath: string;
  outPath: string;
  target: EvalTarget;
  evaluate: EvaluateConfig;
  signal: AbortSignal;
  progress(message: string): void;
}

/**
 * Predictions for one batch of prompts, written to `outPath` once complete (atomically). A batch
 * whose file exists is not redone; an endpoint batch keeps the answers it got in a `.partial` file,
 * so a retry after a 429 storm asks only for what is missing.
 */
export async function evaluateBatchFile(run: EvalBatchRun, env: NodeJS.ProcessEnv = process.env): Promise<{ items: number; cached: boolean }> {
  const items = readJsonlRows(run.itemsPath).map(({ value }) => value as EvalPromptItem);
  if (existsSync(run.outPath)) return { items: items.length, cached: true };
  const started = Date.now();
  const usage = run.evaluate.via === 'endpoint' ? await viaEndpoint(run, items, env) : await viaTrainer(run, items.length, env);
  // After the predictions: a batch cut off between the two is kept, and counted as not measured.
  writeBatchUsage(run.outPath, { ...usage, wallSeconds: (Date.now() - started) / 1000 });
  return { items: items.length, cached: false };
}

type AttemptUsage = Omit<BatchUsage, 'wallSeconds'>;

async function viaTrainer(run: EvalBatchRun, total: number, env: NodeJS.ProcessEnv): Promise<AttemptUsage> {
  const { target } = run;
  if (target.trained?.kind === 'remote') {
    throw new MissingResource(`variant ${target.variant} is a remote model (${target.trained.model}); evaluate it with evaluate.via "endpoint"`);
  }
  const model = target.trained?.kind === 'model-dir' ? target.trained.model : studentModelPath(target.baseModel);
  const tmp = `${run.outPath}.tmp`;
  const argv = [
    trainerPython(readEnv(env)), '-m', 'nanoflux_trainer', 'evaluate', '--model', model,
    ...(target.trained?.kind === 'adapter' ? ['--adapter', target.trained.model] : []),
    '--items', run.itemsPath, '--out', tmp, '--max-new-tokens', String(run.evaluate.maxNewTokens),
    // Always said: a Qwen3 template left to itself thinks, and the thinking eats maxNewTokens.
    '--thinking', run.evaluate.thinking ? 'on' : 'off',
  ];
  let done: Record<string, unknown> | null = null;
  const outcome = await runProcess(argv, {
    env: trainerEnv(env),
    signal: run.signal,
    onEvent: (e) => {
      if (e.event === 'progress') run.progress(`${target.variant}: ${e.done}/${total} items`);
      if (e.event === 'done') done = e;
    },
  });
  if (outcome.code !== 0 || !existsSync(tmp)) throw trainerFailure('evaluation', outcome, run.signal.aborted);
  renameSync(tmp, run.outPath);
  return { via: 'trainer', items: total, ...trainerEvalUsage(done) };
}

/** The model name a variant is served under at the endpoint; `load` when its adapter must be loaded into the server first. */
export function endpointModel(target: EvalTarget, evaluate: EvaluateConfig): { model: string; load?: string } {
  const named = evaluate.endpoint?.models[target.variant];
  if (named) return { model: named };
  if (target.trained?.kind === 'remote') return { model: target.trained.model };
  if (!target.trained) return { model: target.baseModel };
  if (target.trained.kind === 'adapter' && evaluate.endpoint?.loadAdapters) return { model: adapterServedName(target.variant, target.trained.model), load: target.trained.model };
  throw new MissingResource(`no served model name for variant ${target.variant}: set evaluate.endpoint.models["${target.variant}"], or evaluate.endpoint.loadAdapters for a vLLM server that loads adapters at runtime`);
}

/**
 * One evaluation request: the item in the training template, greedy where the model takes a
 * temperature (a reasoning model takes only its default, and answers 400 to 0). The answer cap goes
 * under the model family's field, and the thinking switch as the endpoint takes it (vLLM and SGLang: a
 * chat-template variable), only when set: OpenAI's API refuses the field (common/model-capabilities.ts).
 */
export function endpointRequest(
  model: string,
  item: EvalPromptItem,
  evaluate: Pick<EvaluateConfig, 'maxNewTokens' | 'thinking'> & { endpoint?: { baseURL?: string } },
): ChatCompletionCreateParamsNonStreaming & { chat_template_kwargs?: { enable_thinking: boolean } } {
  const p = chatParameters({ provider: 'openai', model, baseURL: evaluate.endpoint?.baseURL, temperature: 0, ...(evaluate.thinking === undefined ? {} : { thinking: evaluate.thinking }) });
  return {
    model,
    messages: [...(item.system ? [{ role: 'system' as const, content: item.system }] : []), { role: 'user', content: item.prompt }],
    [p.tokenLimit]: evaluate.maxNewTokens,
    ...(p.temperature === undefined ? {} : { temperature: p.temperature }),
    ...p.extra,
  };
}

async function viaEndpoint(run: EvalBatchRun, items: EvalPromptItem[], env: NodeJS.ProcessEnv): Promise<AttemptUsage> {
  const ep: Partial<NonNullable<EvaluateConfig['endpoint']>> = run.evaluate.endpoint ?? {};
  const keyEnv = ep.apiKeyEnv ?? (ep.baseURL ? undefined : 'OPENAI_API_KEY');
  const apiKey = keyEnv ? env[keyEnv] : 'not-needed';
  if (!apiKey) throw new MissingApiKey(keyEnv ?? 'OPENAI_API_KEY');
  const { model, load } = endpointModel(run.target, run.evaluate);
  if (load) await loadAdapter({ baseURL: ep.baseURL ?? 'https://api.openai.com/v1', apiKey: keyEnv ? apiKey : undefined, name: model, adapterDir: load, signal: run.signal });
  // maxRetries 0: Temporal retries the batch; the .partial file keeps what already came back.
  const client = new OpenAI({ apiKey, baseURL: ep.baseURL, maxRetries: 0, timeout: 300_000 });
  const partial = `${run.outPath}.partial`;
  mkdirSync(dirname(partial), { recursive: true });
  const done = new Map<string, string>();
  if (existsSync(partial)) {
    for (const line of readFileSync(partial, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const p = JSON.parse(line) as Prediction;
        done.set(p.id, p.prediction);
      } catch {
        // The last line of a killed attempt may be cut short: that item is simply asked again.
      }
    }
  }
  const todo = items.filter((i) => !done.has(i.id));
  // This attempt's requests only: what an earlier attempt asked is in no record (its items are then not counted as measured).
  const tokens = { promptTokens: 0 as number | null, completionTokens: 0 as number | null };
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      if (run.signal.aborted) throw new Error('evaluation cancelled');
      const item = todo[next++]!;
      let text: string;
      try {
        const r = await client.chat.completions.create(endpointRequest(model, item, run.evaluate), { signal: run.signal });
        text = r.choices[0]?.message?.content ?? '';
        addResponseUsage(tokens, r.usage);
      } catch (e) {
        throw fromOpenAIError(e);
      }
      done.set(item.id, text);
      appendFileSync(partial, JSON.stringify({ id: item.id, prediction: text }) + '\n');
      run.progress(`${run.target.variant}: ${done.size}/${items.length} items`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.evaluate.concurrency, Math.max(1, todo.length)) }, worker));
  writeFileAtomic(run.outPath, items.map((i) => JSON.stringify({ id: i.id, prediction: done.get(i.id) ?? '' })).join('\n') + (items.length ? '\n' : ''));
  rmSync(partial, { force: true });
  return { via: 'endpoint', items: todo.length, ...tokens, hardware: null };
}
