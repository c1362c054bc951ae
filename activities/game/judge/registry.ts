import type { ToolSpec } from '../models/chat-model.js';
import { calculatorTool } from './calculator.js';
import { pythonTool } from './python-sandbox.js';
import { toolPacks, toolsForDomain } from './tools/index.js';

/** Tools every judge has, whatever the domain. */
export const GENERAL_TOOLS: readonly ToolSpec[] = [calculatorTool, pythonTool];

/** The judge's tools for a domain pack: the general ones, then the pack's. */
export function judgeTools(pack: string): ToolSpec[] {
  return [...GENERAL_TOOLS, ...toolsForDomain(pack)];
}

/** Every built-in tool by name: what `nanoflux tool <name>` runs, through the same code as the judge. */
export function builtInTools(): Map<string, ToolSpec> {
  const all = [...GENERAL_TOOLS, ...Object.values(toolPacks).flat()];
  return new Map(all.map((t) => [t.name, t]));
}
