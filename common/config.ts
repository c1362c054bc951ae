import { z } from 'zod';

/**
 * The run config: the one input of `nanofluxRun`, from a file, the CLI or `temporal workflow start`.
 * Every field has a documented default; unknown keys are refused so a typo never silently becomes
 * a default.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SLUG = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export const ModelRefSchema = z
  .strictObject({
    provider: z.enum(['openai', 'local']).describe('`openai`: any OpenAI-compatible endpoint; `local`: the embedded model'),
    model: z.string().min(1).describe('Model name at the endpoint, or for `local` a GGUF path or the alias `smollm2-135m`'),
    baseURL: z.url().optional().describe('Endpoint base URL (e.g. http://localhost:8000/v1); default: the OpenAI API'),
    apiKeyEnv: z
      .string()
      .regex(ENV_NAME, 'must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key')
      .optional()
      .describe('Name of the environment variable that holds the API key; the worker reads it, it never enters a workflow'),
    temperature: z.number().min(0).max(2).optional().describe('Sampling temperature; default: the role default'),
    maxOutputTokens: z.int().min(16).max(32768).optional().describe('Cap on tokens per answer'),
  })
  .superRefine((m, ctx) => {
    if (m.apiKeyEnv && /^(sk-|Bearer )/.test(m.apiKeyEnv)) {
      ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'looks like a secret; put the key in an environment variable and name the variable here' });
    }
  });
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const DomainSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug: lowercase letters, digits, - and _, at most 48 characters'),
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
});
export type DomainConfig = z.infer<typeof DomainSchema>;

export const GenerationSchema = z.strictObject({
  targetAccepted: z.int().min(1).max(100000).default(200).describe('Stop a domain once this many examples are accepted'),
  maxEpisodes: z.int().min(1).max(1000000).default(1000).describe('Stop a domain after this many episodes'),
  concurrency: z.int().min(1).max(256).default(4).describe('Episodes in flight per domain'),
  noveltyThreshold: z.number().gt(0).max(1).default(0.85).describe('Cosine similarity at or above which a question is a duplicate'),
  targetComplexity: z.int().min(1).max(5).default(3).describe('Complexity (1–5) the Attacker is asked for'),
  targetHops: z.int().min(1).max(10).default(2).describe('Reasoning hops the Attacker is asked for'),
  promptVersion: z.string().regex(/^v[0-9]+$/, 'must look like v1').default('v1').describe('Prompt templates used, from prompts/<version>/'),
  maxSchemaRetries: z.int().min(0).max(10).default(2).describe('Retries of a model answer that fails its schema, then the episode fails'),
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
  adaptiveComplexity: z
    .strictObject({
      targetWinRate: z.number().gt(0).lt(1).describe("The Attacker's win rate the controller steers towards"),
      window: z.int().min(2).max(100).default(8).describe('Scored episodes between adjustments'),
      tolerance: z.number().min(0).max(0.5).default(0.1).describe('No change while the win rate is this close to the target'),
      min: z.int().min(1).max(5).default(1),
      max: z.int().min(1).max(5).default(5),
    })
    .optional()
    .describe('Moves the target complexity per domain towards the level where the Attacker wins at targetWinRate; off = fixed targetComplexity'),
});

const McpStdioSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug'),
  transport: z.literal('stdio'),
  command: z.string().min(1).describe('Program that speaks MCP on stdin/stdout'),
  args: z.array(z.string()).default([]),
  passEnv: z
    .array(z.string().regex(ENV_NAME, 'must be the NAME of an environment variable'))
    .default([])
    .describe("Names of the worker's environment variables handed to the server (its keys stay out of the config)"),
});

const McpHttpSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug'),
  transport: z.literal('http'),
  url: z.url().describe('Streamable HTTP endpoint of the MCP server'),
  headersFromEnv: z
    .record(z.string(), z.string().regex(ENV_NAME, 'must be the NAME of an environment variable'))
    .default({})
    .describe('HTTP headers whose values the worker reads from these environment variables (e.g. {"Authorization": "LOOKUP_TOKEN"})'),
});

export const McpServerSchema = z.discriminatedUnion('transport', [McpStdioSchema, McpHttpSchema]);
export type McpServerConfig = z.infer<typeof McpServerSchema>;

export const JudgeSchema = z.strictObject({
  maxToolRounds: z.int().min(0).max(16).default(4).describe('Tool-calling rounds before the Judge must give its verdict'),
  mcpServers: z.array(McpServerSchema).default([]).describe("MCP servers whose tools the Judge may call, beside its built-in ones"),
});

export const BudgetSchema = z.strictObject({
  maxTokens: z.int().min(1).optional().describe('Stop generation once this many tokens (all roles, all domains) are used'),
});

export const RunConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    runId: z.string().regex(SLUG, 'must be a slug: lowercase letters, digits, - and _, at most 48 characters'),
    domains: z.array(DomainSchema).min(1),
    models: z.strictObject({ a: ModelRefSchema, b: ModelRefSchema, judge: ModelRefSchema, embedding: ModelRefSchema }),
    generation: GenerationSchema.default(GenerationSchema.parse({})),
    budget: BudgetSchema.default({}),
    judge: JudgeSchema.default({ maxToolRounds: 4, mcpServers: [] }),
  })
  .superRefine((c, ctx) => {
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
  return { ok: false, problems: r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

export function describeProblems(problems: ConfigProblem[]): string {
  return `invalid run config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
    problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}
