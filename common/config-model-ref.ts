import { z } from 'zod';
import { REASONING_EFFORTS, settingProblems, TOKEN_LIMIT_PARAMETERS } from './model-capabilities.js';

/** A model ref of the run config (common/config.ts): which model plays a role, at which endpoint, tier and price. */

/** http(s) only: z.url() alone takes `localhost:8000/v1` (scheme "localhost") and `ftp://…`, which the clients then fail on. */
export const HTTP_URL = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ModelRefSchema = z
  .strictObject({
    provider: z.enum(['openai', 'local']).describe('`openai`: any OpenAI-compatible endpoint; `local`: the embedded model'),
    model: z.string().min(1).describe('Model name at the endpoint, or for `local` a GGUF path or the alias `smollm2-135m`'),
    baseURL: HTTP_URL.optional().describe('Endpoint base URL (e.g. http://localhost:8000/v1); default: the OpenAI API'),
    apiKeyEnv: z.string().regex(ENV_NAME, 'must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not a key').optional().describe('Name of the environment variable that holds the API key; the worker reads it, it never enters a workflow'),
    temperature: z.number().min(0).max(2).optional().describe("Sampling temperature. Default: `openai` refs send none (the provider's default); `local` refs use the role's (Attacker 0.9, Defender 0.2, its solve-rate samples 0.8, Judge 0). OpenAI's reasoning models (o-series, gpt-5) take none"),
    maxOutputTokens: z.int().min(16).max(32768).optional().describe('Cap on tokens per answer'),
    reasoningEffort: z.enum(REASONING_EFFORTS).optional().describe('Reasoning models: how much the model thinks before it answers, sent as `reasoning_effort` (OpenRouter: `reasoning.effort`). o-series: low/medium/high; gpt-5: minimal–high; gpt-5.1 and later: none–high. Default: the provider\'s'),
    thinking: z.boolean().optional().describe('Hybrid thinking models (Qwen3): thinking on or off, sent as `chat_template_kwargs.enable_thinking` (vLLM, SGLang, llama-server), `reasoning.enabled` (OpenRouter) or `enable_thinking` (DashScope); not for OpenAI\'s API. Default: the model\'s own (Qwen3: on)'),
    tokenLimitParameter: z.enum(TOKEN_LIMIT_PARAMETERS).optional().describe('The request field that carries maxOutputTokens. Default: `max_tokens` for OpenRouter and Claude, else `max_completion_tokens` (which OpenAI\'s reasoning models require); a server that refuses one is sent the other'),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(600)
      .optional()
      .describe('How long one call to this model may take before it is abandoned and retried (chat: one completion; embeddings: one batch, which then halves); default: 120 for chat, 60 for embeddings. Raise it for a slow server on CPU; at most 600, inside the model activities\' own 10-minute limit'),
    contextTokens: z
      .int()
      .min(256)
      .max(10_000_000)
      .optional()
      .describe("The model's context window in tokens (prompt + answer): every conversation is kept within it (the Judge's tool rounds, tool outputs and max_tokens are cut to fit). Default: learned from the server where it says so (llama.cpp), else unbounded"),
    requestsPerMinute: z
      .number()
      .positive()
      .optional()
      .describe(
        'Client-side rate limit: requests per minute this worker process sends to this endpoint (base URL + apiKeyEnv + model), evenly spaced; refs naming the same endpoint share one limit (the smallest given), and a 429 with Retry-After holds them all back. Per worker process: with several, give each its share. `openai` only; default: no limit',
      ),
    tier: z
      .enum(['standard', 'flex', 'batch'])
      .optional()
      .describe("Service tier: `flex` sends `service_tier: \"flex\"` (OpenAI: batch prices on ordinary calls, slower, sometimes refused for lack of capacity; a refused call backs off and asks again, then goes on at the standard tier after flexFallbackAfterSeconds). `batch` sends every request of the game's calls through the provider's Batch API (OpenAI: half price, answers within 24 h): requests from all episodes in flight are collected and sent as batch jobs by the worker that owns the run's data (see `batch`). The preflight and the Judge's calibration go at the standard tier. The tier each response was billed at is recorded with its usage. `openai` only; default standard"),
    flexFallbackAfterSeconds: z
      .int()
      .min(0)
      .max(540)
      .optional()
      .describe('tier flex: how long one model call waits for flex capacity (backing off between refusals) before it goes on at the standard tier; 0 falls back at the first refusal. Default 240, inside the model activity\'s 10 minutes'),
    batch: z
      .strictObject({
        maxWaitSeconds: z.number().min(0).max(86_400).optional().describe('A request waits at most this long for others to join its batch job before the job is sent; default 60'),
        maxRequests: z.int().min(1).max(50_000).optional().describe("Requests per batch job (the Batch API's limit: 50,000 and 200 MB per file); a full job is sent at once; default 50000"),
        pollSeconds: z.number().min(0.05).max(3600).optional().describe('First wait between asking a batch job its status; it grows to ten times this while the job runs; default 30'),
      })
      .optional()
      .describe('tier batch: how requests are gathered into Batch API jobs and how often a job is asked its status (other tiers ignore it, as they ignore flexFallbackAfterSeconds)'),
    price: z
      .strictObject({
        inputPerMillion: z.number().min(0).describe('USD per million prompt tokens'),
        outputPerMillion: z.number().min(0).describe('USD per million completion tokens'),
        cachedInputPerMillion: z.number().min(0).optional().describe("USD per million prompt tokens served from the provider's prompt cache (as each response reports them); default: inputPerMillion"),
        flexDiscount: z.number().min(0).max(1).optional().describe('Share taken off the price of what the provider billed at the flex tier (OpenAI: 0.5, batch rates); default 0.5'),
        batchDiscount: z.number().min(0).max(1).optional().describe('Share taken off the price of what was answered through the Batch API (OpenAI: 0.5); default 0.5'),
      })
      .optional()
      .describe("Price of this model, for cost per role, episode and run and for budget.maxCost; default: free (local models)"),
  })
  .superRefine((m, ctx) => {
    if (m.apiKeyEnv && /^(sk-|Bearer )/.test(m.apiKeyEnv)) {
      ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'looks like a secret; put the key in an environment variable and name the variable here' });
    }
    if (m.provider === 'local' && (m.tier === 'flex' || m.tier === 'batch')) ctx.addIssue({ code: 'custom', path: ['tier'], message: `${m.tier} is a provider tier: \`openai\` refs only` });
    // What the model is known to refuse (common/model-capabilities.ts): found here, not as a 400 on every call.
    for (const p of settingProblems(m)) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
  });
export type ModelRef = z.infer<typeof ModelRefSchema>;
