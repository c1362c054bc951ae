import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluateSchema, parseRunConfig } from '../../common/config.js';
import { reportComputeInput, unpricedRoles } from '../../common/compute.js';
import type { EpisodeSummary, TrainingExample } from '../../common/contracts/index.js';
import { evaluateBatchFile } from '../../activities/stages/eval/run-eval.js';
import { addResponseUsage, type BatchUsage, readBatchUsage, trainerEvalUsage, usagePath, variantEvaluation, writeBatchUsage } from '../../activities/stages/eval/usage.js';
import { generationSeconds, runGeneration } from '../../activities/stages/report/generation.js';
import { evaluationOf } from '../../activities/stages/results.js';
import * as L from '../../activities/stages/layout.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';
import { testConfig } from '../support/game-script.js';

/** The records the compute accounting is built from: evaluation usage per batch, generation per domain, which roles are priced. */

const dir = mkdtempSync(join(tmpdir(), 'nanoflux-compute-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const H100 = { kind: 'cuda', name: 'NVIDIA H100 80GB HBM3', devices: 1, visible: 8 };
const batch = (over: Partial<BatchUsage> = {}): BatchUsage => ({ via: 'trainer', items: 50, promptTokens: 4000, completionTokens: 1000, wallSeconds: 60, hardware: H100, ...over });

describe('evaluation usage', () => {
  it("sums a variant's batches, and says how many items the records cover", () => {
    const e = variantEvaluation([batch(), batch({ wallSeconds: 30 }), null], 150)!;
    expect(e).toEqual({ via: 'trainer', items: 150, measuredItems: 100, promptTokens: 8000, completionTokens: 2000, wallSeconds: 90, hardware: H100 });
    expect(variantEvaluation([null, null], 100)).toBeUndefined();
  });

  it('an uncounted batch makes the token count unknown, not smaller; mixed devices name none', () => {
    const e = variantEvaluation([batch(), batch({ completionTokens: null, hardware: { ...H100, name: 'NVIDIA A10G' } })], 100)!;
    expect(e.promptTokens).toBe(8000);
    expect(e.completionTokens).toBeNull();
    expect(e.hardware).toBeNull();
  });

  it("adds each response's usage, and a response without one makes the sum unknown", () => {
    const sum = { promptTokens: 0 as number | null, completionTokens: 0 as number | null };
    addResponseUsage(sum, { prompt_tokens: 10, completion_tokens: 3 });
    addResponseUsage(sum, { prompt_tokens: 7, completion_tokens: 2 });
    expect(sum).toEqual({ promptTokens: 17, completionTokens: 5 });
    addResponseUsage(sum, undefined);
    addResponseUsage(sum, { prompt_tokens: 1, completion_tokens: 1 });
    expect(sum).toEqual({ promptTokens: null, completionTokens: null });
  });

  it("reads the trainer's done event, and ignores a hardware record of the wrong shape", () => {
    expect(trainerEvalUsage({ event: 'done', new_tokens: 40, prompt_tokens: 300, hardware: H100 })).toEqual({ promptTokens: 300, completionTokens: 40, hardware: H100 });
    expect(trainerEvalUsage({ event: 'done', new_tokens: 40, hardware: { kind: 'cuda' } })).toEqual({ promptTokens: null, completionTokens: 40, hardware: null });
    expect(trainerEvalUsage(null)).toEqual({ promptTokens: null, completionTokens: null, hardware: null });
  });

  it('keeps a record beside each batch, which the variant result reads back; a broken record counts as none', () => {
    const home = join(dir, 'home');
    const p = (b: number) => L.predictionsPath(home, 'r1', 'math', 'tuned', b);
    writeBatchUsage(p(0), batch());
    writeBatchUsage(p(1), batch({ items: 20, wallSeconds: 12.5 }));
    expect(readBatchUsage(p(0))).toEqual(batch());
    expect(evaluationOf(home, 'r1', 'math', 'tuned', 2, 70)).toEqual({
      evaluation: { via: 'trainer', items: 70, measuredItems: 70, promptTokens: 8000, completionTokens: 2000, wallSeconds: 72.5, hardware: H100 },
    });
    writeFileSync(usagePath(p(1)), '{"via": "trainer", "items": 20, "wallSe');
    expect(readBatchUsage(p(1))).toBeNull();
    writeFileSync(usagePath(p(1)), JSON.stringify({ via: 'trainer', items: -1 }));
    expect(readBatchUsage(p(1))).toBeNull();
    expect(evaluationOf(home, 'r1', 'math', 'tuned', 2, 70).evaluation?.measuredItems).toBe(50);
    expect(evaluationOf(home, 'r1', 'math', 'full-train', 2, 70)).toEqual({});
  });
});

describe('evaluation usage through an OpenAI-compatible endpoint', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => {
    server = await startScriptedOpenAI();
  });
  afterAll(async () => {
    await server.close();
  });

  it("records the responses' usage and the batch's time; after a 429 only this attempt's items count as measured", async () => {
    const items = join(dir, 'endpoint-items.jsonl');
    writeFileSync(items, ['a', 'b', 'c', 'd'].map((id) => JSON.stringify({ id, prompt: `question ${id}` })).join('\n') + '\n');
    let calls = 0;
    server.script(() => {
      calls++;
      if (calls === 3) return { status: 429, retryAfter: '1', message: 'slow down' };
      return { content: 'Answer: 1', usage: { prompt_tokens: 20 + calls, completion_tokens: 3 } };
    });
    const evaluate = EvaluateSchema.parse({ via: 'endpoint', endpoint: { baseURL: server.baseURL, models: { tuned: 'served-tuned' } }, concurrency: 1 });
    const outPath = join(dir, 'endpoint', 'batch-000.jsonl');
    const run = { itemsPath: items, outPath, target: { variant: 'tuned', baseModel: 'base-m', trained: { kind: 'adapter' as const, model: '/x' } }, evaluate, signal: new AbortController().signal, progress: () => undefined };
    await expect(evaluateBatchFile(run)).rejects.toMatchObject({ type: 'RateLimited' });
    expect(existsSync(usagePath(outPath))).toBe(false);
    await evaluateBatchFile(run);
    const u = readBatchUsage(outPath)!;
    // Calls 4 and 5 answered the two items left: (24 + 25) prompt tokens, 3 + 3 completion tokens.
    expect(u).toMatchObject({ via: 'endpoint', items: 2, promptTokens: 49, completionTokens: 6, hardware: null });
    expect(u.wallSeconds).toBeGreaterThan(0);
    expect(variantEvaluation([u], 4)).toMatchObject({ items: 4, measuredItems: 2 });
    // A cached batch leaves its record as it is.
    await evaluateBatchFile(run);
    expect(readBatchUsage(outPath)).toEqual(u);
  });
});

describe('generation per domain', () => {
  const summary = (over: Partial<EpisodeSummary>): EpisodeSummary =>
    ({ episode: 0, workflowId: 'w', attackerSlot: 'a', topic: 't', targetComplexity: 3, outcome: 'accepted', toolCalls: 0, tokens: { attacker: 10, defender: 20, judge: 30, embedding: 1 }, cost: { attacker: 0.01, defender: 0.02, judge: 0.03, embedding: 0 }, ...over }) as EpisodeSummary;
  const example = (domain: string, runId: string) => ({ domain, provenance: { runId } }) as TrainingExample;

  it('sums every episode of each domain by role (rejected ones too), counts uncosted episodes and examples from other runs', () => {
    const home = join(dir, 'gen-home');
    const run = join(home, 'runs', 'g1');
    mkdirSync(run, { recursive: true });
    const rows = [
      { domain: 'math', summary: summary({}) },
      { domain: 'math', summary: summary({ outcome: 'rejected_easy' as EpisodeSummary['outcome'] }) },
      { domain: 'math', summary: summary({ cost: undefined }) },
      { domain: 'bio', summary: summary({ tokens: { attacker: 1, defender: 1, judge: 1, embedding: 1 } }) },
    ];
    writeFileSync(join(run, 'episodes.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const examples = [example('math', 'g1'), example('math', 'earlier'), example('bio', 'g1')];
    const [math, bio, chem] = runGeneration(home, 'g1', ['math', 'bio', 'chem'], { unpriced: ['judge'], generation: { execution: 'e1', wallSeconds: 300 } }, examples)!;
    expect(math).toMatchObject({ domain: 'math', episodes: 3, uncosted: 1, unpriced: ['judge'], imported: { examples: 1, runs: ['earlier'] }, wallSeconds: 300, domains: 3 });
    expect(math!.tokens).toEqual({ attacker: 30, defender: 60, judge: 90, embedding: 3 });
    expect(math!.cost.judge).toBeCloseTo(0.06, 12);
    expect(bio).toMatchObject({ episodes: 1, tokens: { attacker: 1, defender: 1, judge: 1, embedding: 1 }, imported: { examples: 0, runs: [] } });
    expect(chem).toMatchObject({ episodes: 0, tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0 } });
    // Without pricing passed (an older caller), USD cannot be vouched for.
    expect(runGeneration(home, 'g1', ['math'], undefined, examples)![0]!.unpriced).toBeNull();
    expect(runGeneration(home, 'nothing-exported', ['math'], undefined, [])).toBeUndefined();
  });

  it("keeps each run execution's generation time: a retry replaces its own, a re-entered run adds its own", () => {
    const run = join(dir, 'timing');
    mkdirSync(run, { recursive: true });
    expect(generationSeconds(run, undefined)).toBeNull();
    expect(generationSeconds(run, { execution: 'e1', wallSeconds: 100 })).toBe(100);
    expect(generationSeconds(run, { execution: 'e1', wallSeconds: 120 })).toBe(120);
    expect(generationSeconds(run, { execution: 'e2', wallSeconds: 4 })).toBe(124);
    // `nanoflux ablate` and `nanoflux report` pass none and find what the run recorded.
    expect(generationSeconds(run, undefined)).toBe(124);
    expect(JSON.parse(readFileSync(join(run, 'generation-time.json'), 'utf8'))).toEqual({ executions: { e1: 120, e2: 4 } });
  });
});

describe('which roles are priced', () => {
  const price = { inputPerMillion: 1, outputPerMillion: 2 };

  it('a paid model without a price leaves its roles unpriced; Attacker and Defender share models a and b', () => {
    const base = testConfig('http://127.0.0.1:1/v1', 'priced');
    const config = (models: Record<string, object>) => {
      const r = parseRunConfig({ ...base, models: { ...base.models, ...models } });
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.config;
    };
    expect(unpricedRoles(config({}))).toEqual(['attacker', 'defender', 'judge', 'embedding']);
    const priced = { a: { ...base.models.a, price }, b: { ...base.models.b, price }, judge: { ...base.models.judge, price } };
    expect(unpricedRoles(config(priced))).toEqual(['embedding']);
    expect(unpricedRoles(config({ ...priced, b: base.models.b }))).toEqual(['attacker', 'defender', 'embedding']);
    // The embedded model is free by definition.
    expect(unpricedRoles(config({ ...priced, embedding: { provider: 'local', model: 'nomic-embed-text-v1.5' } }))).toEqual([]);
    expect(reportComputeInput(config(priced), { execution: 'x', wallSeconds: 1 })).toEqual({ unpriced: ['embedding'], generation: { execution: 'x', wallSeconds: 1 } });
  });
});
