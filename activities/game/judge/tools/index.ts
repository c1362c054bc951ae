import type { ToolSpec } from '../../models/chat-model.js';
import { genomicsTools } from './genomics.js';
import { mathTools } from './math.js';
import { medicalTools } from './medical.js';

/** Deterministic tool packs the judge can be given per domain, on top of its general tools. */
export type ToolPackName = 'math' | 'genomics' | 'medical';

export const toolPacks: Record<ToolPackName, ToolSpec[]> = {
  math: mathTools,
  genomics: genomicsTools,
  medical: medicalTools,
};

/** The pack's tools (a fresh array); an unknown or absent pack name gives none rather than failing. */
export function toolsForDomain(pack: string | undefined): ToolSpec[] {
  if (pack === undefined || !Object.hasOwn(toolPacks, pack)) return [];
  return [...toolPacks[pack as ToolPackName]];
}
