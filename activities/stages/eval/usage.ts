import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EvaluationCompute, Hardware } from '../../../common/contracts/index.js';
import { writeFileAtomic } from '../../kit/files.js';

/**
 * What one evaluation batch took, kept beside its predictions as `<batch>.jsonl.usage.json`, so a
 * variant's evaluation compute survives a retried or re-entered stage the way its predictions do
 * (and goes wherever they go: a cut that loses its predictions loses these with them).
 */
export interface BatchUsage {
  via: 'trainer' | 'endpoint';
  /** Items this attempt predicted: fewer than the batch when an endpoint batch went on from its .partial file. */
  items: number;
  promptTokens: number | null;
  completionTokens: number | null;
  /** The activity's time on the batch, the trainer's model loading included. */
  wallSeconds: number;
  hardware: Hardware | null;
}

const count = z.number().int().min(0);

/** The trainer's hardware record (trainer/nanoflux_trainer/hardware.py), as summary.json and the evaluate `done` event carry it. */
export const TrainerHardwareSchema = z.object({
  kind: z.string().min(1),
  name: z.string().nullable(),
  devices: z.number().int().min(1),
  visible: count.nullable(),
  threads: count.optional(),
});

const BatchUsageSchema = z.object({
  via: z.enum(['trainer', 'endpoint']),
  items: count,
  promptTokens: count.nullable(),
  completionTokens: count.nullable(),
  wallSeconds: z.number().min(0),
  hardware: TrainerHardwareSchema.nullable(),
});

export const usagePath = (predictionsPath: string): string => `${predictionsPath}.usage.json`;

export function writeBatchUsage(predictionsPath: string, usage: BatchUsage): void {
  writeFileAtomic(usagePath(predictionsPath), JSON.stringify(usage));
}

/** The records of a variant's batches, in batch order (null where a batch has none). */
export const batchUsages = (predictionFiles: string[]): (BatchUsage | null)[] => predictionFiles.map(readBatchUsage);

/** A batch's record; null when it has none (predicted before this was recorded) or it is not a record (not thrown: the report then counts the batch as unmeasured). */
export function readBatchUsage(predictionsPath: string): BatchUsage | null {
  const file = usagePath(predictionsPath);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  const parsed = BatchUsageSchema.safeParse(raw);
  return parsed.success ? (parsed.data as BatchUsage) : null;
}

/** Hardware from a trainer record; undefined when absent or not in the expected shape (an older trainer). */
export function trainerHardware(raw: unknown): Hardware | undefined {
  const parsed = TrainerHardwareSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { kind, name, devices, visible, threads } = parsed.data;
  return { kind, name, devices, visible, ...(threads === undefined ? {} : { threads }) };
}

/** The trainer's `done` event of an evaluation (trainer/nanoflux_trainer/evaluate.py): tokens in and out, and its device. */
export function trainerEvalUsage(done: Record<string, unknown> | null): Pick<BatchUsage, 'promptTokens' | 'completionTokens' | 'hardware'> {
  const tokens = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
  return { promptTokens: tokens(done?.prompt_tokens), completionTokens: tokens(done?.new_tokens), hardware: trainerHardware(done?.hardware) ?? null };
}

/** Adds one endpoint response's usage; a response without usage makes the batch's count unknown (null), not smaller. */
export function addResponseUsage(
  sum: { promptTokens: number | null; completionTokens: number | null },
  usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined,
): void {
  sum.promptTokens = sum.promptTokens === null || typeof usage?.prompt_tokens !== 'number' ? null : sum.promptTokens + usage.prompt_tokens;
  sum.completionTokens = sum.completionTokens === null || typeof usage?.completion_tokens !== 'number' ? null : sum.completionTokens + usage.completion_tokens;
}

/**
 * A variant's evaluation of `items` items from its batches' records. Token
 * counts are null when any measured batch could not count them; undefined when no batch recorded anything.
 */
export function variantEvaluation(usages: (BatchUsage | null)[], items: number): EvaluationCompute | undefined {
  const measured = usages.filter((u): u is BatchUsage => u !== null);
  if (measured.length === 0) return undefined;
  const sum = (pick: (u: BatchUsage) => number | null): number | null =>
    measured.reduce<number | null>((acc, u) => (acc === null || pick(u) === null ? null : acc + pick(u)!), 0);
  const devices = [...new Map(measured.flatMap((u) => (u.hardware ? [[JSON.stringify(u.hardware), u.hardware] as const] : []))).values()];
  return {
    via: measured[0]!.via,
    items,
    measuredItems: measured.reduce((a, u) => a + u.items, 0),
    promptTokens: sum((u) => u.promptTokens),
    completionTokens: sum((u) => u.completionTokens),
    wallSeconds: measured.reduce((a, u) => a + u.wallSeconds, 0),
    // One device named only when every batch ran on the same one: device-hours need one kind.
    hardware: devices.length === 1 && measured.every((u) => u.hardware) ? devices[0]! : null,
  };
}
