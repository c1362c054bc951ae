import type { RunConfig } from '../../common/config.js';
import type { ChatModelCheck, ModelPreflight, PreflightProblem, StorePreflight } from '../../common/contracts/index.js';

/**
 * What a run's preflight checks, from its config: each chat model once (by its full ref, so two
 * roles on one endpoint cost one request), the embedding model, the benchmark files the run will
 * read, and the sandbox where a pack runs programs.
 */
export function preflightPlan(config: RunConfig): { models: ModelPreflight; store: StorePreflight } {
  const byRef = new Map<string, ChatModelCheck>();
  for (const role of ['a', 'b', 'judge'] as const) {
    const ref = config.models[role];
    const key = JSON.stringify(ref);
    const check = byRef.get(key) ?? { roles: [], ref, tools: false };
    check.roles.push(role);
    // The Judge is the role that calls tools (its pack's and the MCP servers').
    check.tools ||= role === 'judge';
    byRef.set(key, check);
  }
  const benchmarks: StorePreflight['benchmarks'] = [];
  const files: NonNullable<StorePreflight['files']> = [];
  const add = (name: string, use: 'decontamination' | 'evaluation') => {
    if ((name === 'gsm8k' || name === 'pubmedqa') && !benchmarks.some((b) => b.name === name && b.use === use)) benchmarks.push({ name, use });
  };
  for (const d of config.domains) {
    add(d.benchmark, 'decontamination');
    // A benchmark given by its own data file is read by the stage's preparation (main worker): found there now, not after generation.
    if (config.evaluate && !d.evaluation?.data) add(d.evaluation?.benchmark ?? d.benchmark, 'evaluation');
    if (config.evaluate && d.evaluation?.data) files.push({ field: `domains.${d.name}.evaluation.data`, path: d.evaluation.data, benchmark: d.evaluation.benchmark });
    if (config.finetune) for (const b of d.baselines) files.push({ field: `domains.${d.name}.baselines.${b.name}.data`, path: b.data });
  }
  const packs = [...new Set(config.domains.map((d) => d.pack))];
  return {
    models: { models: [...byRef.values()], packs },
    store: { embedding: config.models.embedding, benchmarks, packs, ...(files.length > 0 ? { files } : {}) },
  };
}

/** One line per problem, for status, the memo and the CLI. */
export function problemLines(problems: PreflightProblem[]): string[] {
  return problems.map((p) => `${p.subject}: ${p.message}`);
}
