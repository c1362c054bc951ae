import { z } from 'zod';
import { ABLATION_AXES, BENCHMARKS } from './contracts/stages.js';
import { BaselineSchema, EvaluateThinkingSchema, PATH_NOTE, SLUG, TrainingSchema, trainingProblems } from './config-training.js';

export { BaselineSchema };

/**
 * The run config: the one input of `nanofluxRun`, from a file, the CLI or `temporal workflow start`.
 * Every field has a documented default; unknown keys are refused so a typo never silently becomes
 * a default.
 */

import { ENV_NAME, HTTP_URL, type ModelRef, ModelRefSchema } from './config-model-ref.js';

export { ModelRefSchema, type ModelRef };

export const DomainSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug: lowercase letters, digits, - and _, at most 48 characters').describe('Domain name (a slug): in workflow ids, collections and file names'),
  brief: z.string().min(1).describe('What the domain is about, shown to the Attacker'),
  topics: z.array(z.string().min(1)).min(1).describe('Topics the Attacker draws from, round-robin by episode'),
  benchmark: z
    .enum(['gsm8k', 'pubmedqa', 'none'])
    .default('none')
    .describe("Benchmark whose test questions are a decontamination set for novelty checks"),
  pack: z
    .enum(['math', 'genomics', 'medical', 'none'])
    .default('none')
    .describe("Domain pack: the Judge's domain tools and the prompts' domain notes"),
  evaluation: z
    .lazy(() => DomainEvaluationSchema)
    .optional()
    .describe('Benchmark the evaluate stage scores this domain on; default: `benchmark` when it is gsm8k or pubmedqa'),
  baselines: z
    .array(z.lazy(() => BaselineSchema))
    .default([])
    .describe('Other training sets fine-tuned and evaluated beside the NanoFlux set, e.g. the full benchmark training set'),
});
/** Variant names the stages use themselves. */
export const RESERVED_VARIANTS = ['base', 'tuned'];
export type DomainConfig = z.infer<typeof DomainSchema>;

export const GenerationSchema = z.strictObject({
  targetAccepted: z.int().min(1).max(100000).default(200).describe('Stop a domain once this many examples are accepted'),
  maxEpisodes: z.int().min(1).max(1000000).default(1000).describe('Stop a domain after this many episodes'),
  concurrency: z
    .int()
    .min(1)
    .max(1000)
    .default(4)
    .describe("Episodes in flight per domain. Hundreds make sense at the batch tier, where an episode mostly waits for its jobs; at most 1000, within Temporal's 2,000 pending child workflows of one workflow"),
  noveltyThreshold: z.number().gt(0).max(1).default(0.85).describe('Cosine similarity at or above which a question is a duplicate'),
  targetComplexity: z.int().min(1).max(5).default(3).describe('Complexity (1–5) the Attacker is asked for'),
  targetHops: z.int().min(1).max(10).default(2).describe('Reasoning hops the Attacker is asked for'),
  promptVersion: z.string().regex(/^v[0-9]+$/, 'must look like v1').default('v1').describe('Prompt templates used, from prompts/<version>/'),
  maxSchemaRetries: z.int().min(0).max(10).default(2).describe('Retries of a model answer that fails its schema, then the episode fails'),
  pauseAfterFailures: z
    .int()
    .min(0)
    .max(1000)
    .default(5)
    .describe('Circuit breaker: a domain pauses when this many consecutive episodes fail with the same non-retryable failure type (a missing key, a refused request, context exceeded), instead of spending its episode budget; `nanoflux resume` goes on. 0 = never'),
  continueAsNewEvery: z
    .int()
    .min(1)
    .max(100000)
    .default(250)
    .describe('The domain loop continues as new after this many episodes (sooner if Temporal suggests it)'),
  solveRate: z
    .strictObject({
      samples: z.int().min(2).max(16).describe('Defender answers per question'),
      min: z.number().min(0).max(1).describe('Lowest solve rate accepted'),
      max: z.number().min(0).max(1).describe('Highest solve rate accepted'),
    })
    .refine((b) => b.min <= b.max, { message: 'min must not exceed max', path: ['min'] })
    .optional()
    .describe('Solve-rate mode: accept a valid, verified question when the share of Defender samples that solve it falls in [min, max] (e.g. 0.3–0.7); off = accept when the one Defender answer is wrong'),
  review: z
    .strictObject({
      timeoutSeconds: z.int().min(1).max(60 * 60 * 24 * 30).default(24 * 60 * 60).describe('How long an accepted example waits for a decision (default a day)'),
      onTimeout: z.enum(['approve', 'reject']).default('reject').describe('What an unanswered review becomes'),
    })
    .optional()
    .describe('Human steering: each accepted example waits for approve/reject (`nanoflux review`, or the `review` signal on its episode workflow) before it is stored; off = stored at once'),
  adaptiveComplexity: z
    .strictObject({
      targetWinRate: z.number().gt(0).lt(1).describe("The Attacker's win rate the controller steers towards"),
      window: z.int().min(2).max(100).default(8).describe('Scored episodes between adjustments'),
      tolerance: z.number().min(0).max(0.5).default(0.1).describe('No change while the win rate is this close to the target'),
      min: z.int().min(1).max(5).default(1).describe('Lowest complexity the controller may ask for'),
      max: z.int().min(1).max(5).default(5).describe('Highest complexity the controller may ask for'),
    })
    .refine((a) => a.min <= a.max, { message: 'min must not exceed max', path: ['min'] })
    .optional()
    .describe('Moves the target complexity per domain towards the level where the Attacker wins at targetWinRate; off = fixed targetComplexity'),
});

const McpStdioSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug').describe('Prefix of its tools as the Judge sees them (name__tool)'),
  transport: z.literal('stdio'),
  command: z.string().min(1).describe('Program that speaks MCP on stdin/stdout'),
  args: z.array(z.string()).default([]).describe('Arguments of the command'),
  passEnv: z
    .array(z.string().regex(ENV_NAME, 'must be the NAME of an environment variable'))
    .default([])
    .describe("Names of the worker's environment variables handed to the server (its keys stay out of the config)"),
});

const McpHttpSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug').describe('Prefix of its tools as the Judge sees them (name__tool)'),
  transport: z.literal('http'),
  url: HTTP_URL.describe('Streamable HTTP endpoint of the MCP server'),
  headersFromEnv: z
    .record(z.string(), z.string().regex(ENV_NAME, 'must be the NAME of an environment variable'))
    .default({})
    .describe('HTTP headers whose values the worker reads from these environment variables (e.g. {"Authorization": "LOOKUP_TOKEN"})'),
});

export const McpServerSchema = z.discriminatedUnion('transport', [McpStdioSchema, McpHttpSchema]);
export type McpServerConfig = z.infer<typeof McpServerSchema>;

export const CalibrationSchema = z.strictObject({
  items: z.int().min(6).max(1000).default(40).describe("Labelled items the Judge is calibrated on (from the domain benchmark's train split)"),
  minAgreement: z.number().gt(0).max(1).default(0.75).describe('Agreement with the labels each verdict field needs; the Judge may also accept at most 1 − this of the wrong-reference and junk items'),
  onFail: z.enum(['pause', 'warn', 'fail']).default('pause').describe('A Judge below the bar: pause the run before generation (`nanoflux resume <run> --accept-judge` goes on), warn and go on, or fail the run'),
});
export type CalibrationConfig = z.infer<typeof CalibrationSchema>;
export const DEFAULT_CALIBRATION: CalibrationConfig = { items: 40, minAgreement: 0.75, onFail: 'pause' };

export const JudgeSchema = z.strictObject({
  maxToolRounds: z.int().min(0).max(16).default(4).describe('Tool-calling rounds before the Judge must give its verdict'),
  mcpServers: z.array(McpServerSchema).default([]).describe("MCP servers whose tools the Judge may call, beside its built-in ones"),
  calibration: z
    .union([CalibrationSchema, z.literal(false)])
    .default(DEFAULT_CALIBRATION)
    .describe("The Judge's calibration at the start of every run, on a labelled set per domain (from the benchmark's train split): `items` (6–1000, default 40), `minAgreement` (each verdict field's agreement with the labels, default 0.75; at most 1 − it of the wrong-reference and junk items may be accepted), `onFail` (`pause` before generation until `nanoflux resume <run> --accept-judge`, `warn`, or `fail`). `false` turns it off (the report and dataset card then say the Judge is uncalibrated)"),
});

export const BudgetSchema = z.strictObject({
  maxTokens: z.int().min(1).optional().describe('Pause the run once this many tokens (all roles, all domains) are used; raise it with `nanoflux set-budget` to go on'),
  maxCost: z.number().gt(0).optional().describe('Pause the run once it has cost this many USD (from the models\' `price`); raise it with `nanoflux set-budget`'),
});


export const EvalBenchmarkSchema = z.enum(BENCHMARKS);
export type EvalBenchmark = z.infer<typeof EvalBenchmarkSchema>;

export const DomainEvaluationSchema = z
  .strictObject({
    benchmark: EvalBenchmarkSchema.describe('Scorer and loader: gsm8k/gsmhard numeric, pubmedqa yes/no/maybe, mcq letters'),
    data: z.string().min(1).optional().describe(`Benchmark file (gsmhard, mcq: required; gsm8k, pubmedqa: default the shipped test split); ${PATH_NOTE}`),
    limit: z.int().min(1).optional().describe('Evaluate the first N items only (same N for every variant); default: evaluate.limit, else all'),
  })
  .refine((e) => e.data !== undefined || e.benchmark === 'gsm8k' || e.benchmark === 'pubmedqa', {
    message: 'gsmhard and mcq benchmarks need a data file (only gsm8k and pubmedqa ship with the project)',
    path: ['data'],
  });

/** What a command backend's argv template may name; the backend fills them in (activities/stages/finetune/command-backend.ts). */
export const COMMAND_PLACEHOLDERS = ['data', 'out', 'baseModel', 'epochs', 'learningRate', 'loraR', 'batchSize', 'maxLength', 'seed'] as const;

export const FineTuneSchema = z
  .strictObject({
    backend: z
      .enum(['local', 'openai', 'command'])
      .default('local')
      .describe("`local`: the project's Python LoRA trainer; `openai`: the OpenAI fine-tuning API; `command`: your trainer command"),
    baseModel: z
      .string()
      .min(1)
      .describe(`The student. local/command: a Hugging Face model directory, a .gguf file or \`smollm2-135m\`; openai: a fine-tunable model name; ${PATH_NOTE}`),
    baseURL: HTTP_URL.optional().describe('openai backend: API base URL; default the OpenAI API'),
    apiKeyEnv: z.string().regex(ENV_NAME, 'must be the NAME of an environment variable').default('OPENAI_API_KEY').describe('openai backend: variable holding the key'),
    command: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'command backend: argv template; placeholders {data} {out} {baseModel} {epochs} {learningRate} {loraR} {batchSize} {maxLength} {seed}. ' +
          'Contract: exit 0 leaving a PEFT adapter (adapter_config.json) or a full model (config.json) in {out} or {out}/adapter; optional {out}/summary.json with train_tokens',
      ),
    epochs: z.int().min(1).max(100).default(1).describe('Passes over the training set'),
    learningRate: z.number().gt(0).lt(1).default(2e-4).describe('local/command: learning rate (the openai backend leaves it to the provider)'),
    loraR: z.int().min(1).max(256).default(8).describe('LoRA rank'),
    batchSize: z.int().min(1).max(1024).default(2).describe('Examples per optimizer step'),
    maxLength: z.int().min(32).max(131072).default(512).describe('Tokens per training example (longer ones are truncated)'),
    maxSteps: z.int().min(1).optional().describe('Stop after this many optimizer steps (default: as many as the epochs make)'),
    seed: z.int().min(0).default(0).describe('Seeds LoRA initialisation and the data order (a resumed run sees the same batches)'),
    saveEvery: z.int().min(1).default(25).describe('local: checkpoint every N steps; a crashed worker resumes from the newest'),
    parallelism: z.int().min(1).max(32).default(1).describe('Variants fine-tuned and evaluated at once per domain (the train queue bounds it further)'),
    training: TrainingSchema,
  })
  .superRefine((f, ctx) => {
    if (f.backend === 'command' && !f.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'the command backend needs a command template' });
    if (f.backend !== 'command' && f.command) ctx.addIssue({ code: 'custom', path: ['command'], message: `only the command backend takes a command (backend is ${f.backend})` });
    f.command?.forEach((arg, i) => {
      for (const m of arg.matchAll(/\{(\w+)\}/g)) {
        if (!(COMMAND_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
          ctx.addIssue({ code: 'custom', path: ['command', i], message: `unknown placeholder {${m[1]}}; known: ${COMMAND_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}` });
        }
      }
    });
  });
export type FineTuneConfig = z.infer<typeof FineTuneSchema>;

export const EvaluateSchema = z.strictObject({
  via: z
    .enum(['trainer', 'endpoint'])
    .default('trainer')
    .describe("`trainer`: the Python trainer's evaluation mode (base model + adapter); `endpoint`: an OpenAI-compatible server (vLLM serving the adapters, or the provider of an openai fine-tune)"),
  endpoint: z
    .strictObject({
      baseURL: HTTP_URL.optional().describe('Default: the OpenAI API'),
      apiKeyEnv: z.string().regex(ENV_NAME, 'must be the NAME of an environment variable').optional(),
      models: z
        .record(z.string(), z.string().min(1))
        .default({})
        .describe('Model name per variant (base, tuned, full-train, ablation-…); an openai fine-tune serves its own model id'),
      loadAdapters: z
        .boolean()
        .default(false)
        .describe("vLLM: load each locally trained LoRA adapter into the running server before evaluating its variant (POST /v1/load_lora_adapter; start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True --enable-lora --max-lora-rank ≥ finetune.loraR), served as `<variant>-<hash of its weights>`; the server must see the adapter's path (same host or a shared filesystem). A variant named in `models` is asked under that name instead"),
    })
    .optional(),
  limit: z.int().min(1).optional().describe('Evaluate the first N benchmark items of every domain; default all'),
  batchSize: z.int().min(1).max(100000).default(50).describe('Items per evaluation activity (a retry redoes at most one batch)'),
  maxNewTokens: z.int().min(8).max(32768).default(256).describe('Tokens a model may generate per evaluation item'),
  concurrency: z.int().min(1).max(64).default(4).describe('endpoint: requests in flight per batch'),
  thinking: EvaluateThinkingSchema,
});
export type EvaluateConfig = z.infer<typeof EvaluateSchema>;

export const AblationSchema = z.strictObject({
  axes: z.array(z.enum(ABLATION_AXES)).min(1).default(['complexity', 'quality', 'size']).describe('Cut the dataset by complexity level (1–5), quality level (L1–L5), size, and the annotation\'s place in the training text (omit, prepend, append: the whole set each, not a default axis)'),
  sizes: z.array(z.int().min(1)).min(1).default([50, 100, 200]).describe('Size cuts: the first N examples in a fixed shuffled order (nested)'),
  minExamples: z.int().min(1).default(5).describe('A cut with fewer examples is skipped and listed as such in the report'),
  seeds: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('Each cut is fine-tuned and evaluated this many times, seeded finetune.seed, +1, … (variants ablation-<axis>-<value>-s1 … -sN, same training file); the report gives each cut\'s mean, sd and min–max over its seeds'),
  sizeMatch: z
    .union([z.literal('smallest'), z.int().min(1), z.literal(false)])
    .default('smallest')
    .describe(
      "Complexity and quality cuts subsampled to one size, so a level's score is not its size's: 'smallest' = the smallest cut of the axis (of those with minExamples), a number = that many examples (a level with fewer is skipped and listed), false = each level whole. The subsample is a fixed hash order of example ids (the same for every seed; a smaller size is a prefix of a larger); the report states n per cut",
    ),
}).refine((a) => typeof a.sizeMatch !== 'number' || a.sizeMatch >= a.minExamples, { path: ['sizeMatch'], message: 'a sizeMatch below minExamples would train every level cut on fewer examples than a cut may have' });
export type AblationConfig = z.infer<typeof AblationSchema>;

export const RunConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    runId: z.string().regex(SLUG, 'must be a slug: lowercase letters, digits, - and _, at most 48 characters').describe('Names the run (a slug); workflow ids, search attributes and runs/<runId>/ derive from it'),
    resumeFrom: z
      .string()
      .regex(SLUG, 'must be the run id of an earlier run')
      .optional()
      .describe("An earlier run whose stored examples this run starts with (per domain of the same name), and whose finished fine-tunes and evaluations it reuses where their inputs are the same"),
    domains: z.array(DomainSchema).min(1).describe('The domains generated in parallel, each its own loop, dataset and stages'),
    models: z
      .strictObject({ a: ModelRefSchema, b: ModelRefSchema, judge: ModelRefSchema, embedding: ModelRefSchema })
      .describe('A and B alternate as Attacker and Defender by episode; the Judge verifies and scores; the embedding model drives novelty'),
    generation: GenerationSchema.default(GenerationSchema.parse({})),
    budget: BudgetSchema.default({}),
    judge: JudgeSchema.default({ maxToolRounds: 4, mcpServers: [], calibration: DEFAULT_CALIBRATION }),
    preflight: z
      .boolean()
      .default(true)
      .describe("Checks before any episode, on the workers that will do the work: every model's key variable is set, every endpoint answers a minimal request and supports what the run needs (structured output, tools for the Judge), the benchmark files are present, the sandbox starts. A failure pauses the run with the reason; `nanoflux resume` checks again. `false` skips them"),
    finetune: FineTuneSchema.optional().describe('Fine-tune stage: present = on. Tunes the student on each domain\'s set (variant `tuned`) and its baselines'),
    evaluate: EvaluateSchema.optional().describe('Evaluate stage: present = on. Scores base and tuned variants on each domain\'s benchmark; writes the report'),
    ablation: AblationSchema.optional().describe('Ablation stage: present = on (needs finetune and evaluate). Re-cuts each domain\'s set and tunes/evaluates every cut'),
  })
  .superRefine((c, ctx) => {
    if (c.resumeFrom === c.runId) ctx.addIssue({ code: 'custom', path: ['resumeFrom'], message: 'a run cannot resume from itself; give the new run its own runId' });
    // Flex is a tier of chat and responses requests; embeddings have none (OpenAI).
    if (c.models.embedding.tier === 'flex') ctx.addIssue({ code: 'custom', path: ['models', 'embedding', 'tier'], message: 'flex applies to chat models; the embedding model has no flex tier' });
    // The novelty check embeds one question while its episode waits: a batch job would hold every episode for hours to save little (embeddings cost a fraction of chat).
    if (c.models.embedding.tier === 'batch') ctx.addIssue({ code: 'custom', path: ['models', 'embedding', 'tier'], message: 'the embedding model answers the novelty check within an episode: the batch tier is for the chat models' });
    if (c.budget.maxCost !== undefined) {
      for (const role of ['a', 'b', 'judge', 'embedding'] as const) {
        const m = c.models[role];
        if (m.provider === 'openai' && !m.price) {
          ctx.addIssue({ code: 'custom', path: ['models', role, 'price'], message: 'budget.maxCost needs a price for every paid model (or the cost would be under-counted)' });
        }
      }
    }
    for (const p of trainingProblems(c)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    if (c.ablation && !(c.finetune && c.evaluate)) {
      ctx.addIssue({ code: 'custom', path: ['ablation'], message: 'the ablation stage needs the finetune and evaluate stages' });
    }
    if (c.evaluate) {
      c.domains.forEach((d, i) => {
        if (!d.evaluation && d.benchmark === 'none') {
          ctx.addIssue({ code: 'custom', path: ['domains', i, 'evaluation'], message: 'the evaluate stage needs a benchmark: set evaluation, or benchmark gsm8k/pubmedqa' });
        }
      });
    }
    const adaptersLoaded = c.evaluate?.endpoint?.loadAdapters === true && c.finetune?.backend === 'local'; // a command may leave a full model, not an adapter
    if (c.evaluate?.via === 'endpoint' && c.finetune && c.finetune.backend !== 'openai' && !adaptersLoaded) {
      const models = c.evaluate.endpoint?.models ?? {};
      if (!models.tuned) ctx.addIssue({ code: 'custom', path: ['evaluate', 'endpoint', 'models', 'tuned'], message: 'endpoint evaluation of a local/command fine-tune needs the served model name of each variant, or (local backend, vLLM) evaluate.endpoint.loadAdapters' });
    }
    c.domains.forEach((d, i) => {
      if (d.baselines.length > 0 && !c.finetune) ctx.addIssue({ code: 'custom', path: ['domains', i, 'baselines'], message: 'baselines are fine-tuned: they need the finetune stage' });
      const names = new Set<string>();
      d.baselines.forEach((b, j) => {
        if (names.has(b.name) || RESERVED_VARIANTS.includes(b.name) || b.name.startsWith('ablation-')) {
          ctx.addIssue({ code: 'custom', path: ['domains', i, 'baselines', j, 'name'], message: `"${b.name}" is taken (base, tuned, ablation-… are reserved; names must be unique)` });
        }
        names.add(b.name);
      });
    });
    const seen = new Set<string>();
    c.domains.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['domains', i, 'name'], message: `duplicate domain name "${d.name}"` });
      seen.add(d.name);
    });
  });
export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

export interface ConfigProblem {
  path: string;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; problems: ConfigProblem[] };

/** Validates a run config; every problem is reported with its field path, not just the first. */
export function parseRunConfig(input: unknown): ParseResult {
  const r = RunConfigSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  return { ok: false, problems: r.error.issues.flatMap(unionBranch).map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][] };

/**
 * A union that matched no branch (e.g. `judge.calibration`: an object or `false`) says only "Invalid
 * input" at its own path; the branch of the value's own shape knows which field is wrong. That
 * branch is the one whose problems are all inside the value, not about the value itself.
 */
function unionBranch(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors) return [issue];
  const inside = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  if (inside.length !== 1) return [issue];
  return inside[0]!.flatMap((i) => unionBranch({ ...i, path: [...issue.path, ...i.path] }));
}

export function describeProblems(problems: ConfigProblem[]): string {
  return `invalid run config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
    problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}
