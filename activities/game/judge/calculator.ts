import { z } from 'zod';
import type { ToolSpec } from '../models/chat-model.js';
import { defineTool } from './define-tool.js';
import { hardenedMath } from './safe-math.js';

/**
 * The judge's calculator: mathjs with units, fractions and big numbers, hardened for expressions
 * written by a model (safe-math.ts).
 */

export const MAX_EXPRESSION_LENGTH = 2000;

// BigNumber by default: the judge checks exact answers, and 0.1 + 0.2 must be 0.3.
const { math, evaluate } = hardenedMath({ number: 'BigNumber', precision: 64 }, (m) => {
  // In BigNumber mode `fraction(1, 3)` has no matching signature; models write it that way, so add it.
  const fraction = m.fraction;
  m.import(
    {
      fraction: m.typed('fraction', {
        'BigNumber, BigNumber': (n: { toString(): string }, d: { toString(): string }) => fraction(`${n.toString()}/${d.toString()}`),
      }),
    },
    { override: false },
  );
});

function format(value: unknown): string {
  if (math.isBigNumber(value) && value.isInteger() && value.abs().lt('1e60')) return value.toFixed();
  if (typeof value === 'function') throw new Error('calculator: the expression evaluates to a function, not a value');
  // ResultSet (several statements): report the last value, as a calculator would.
  if (value && typeof value === 'object' && 'entries' in value && Array.isArray((value as { entries: unknown[] }).entries)) {
    const entries = (value as { entries: unknown[] }).entries;
    return entries.length ? format(entries[entries.length - 1]) : '';
  }
  return math.format(value, { precision: 20 });
}

export function calculate(expression: string): { result: string } {
  if (typeof expression !== 'string' || expression.trim() === '') throw new Error('calculator: empty expression');
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new Error(`calculator: expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  let value: unknown;
  try {
    // A fresh scope per call: assignments never leak between calls (or between episodes).
    value = evaluate(expression, new Map());
  } catch (e) {
    throw new Error(`calculator: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { result: format(value) };
}

export const calculatorTool: ToolSpec = defineTool({
  name: 'calculate',
  description:
    'Evaluate a math expression exactly (mathjs syntax). Supports units and conversion ("5 km/h * 2 h to m"), ' +
    'fractions ("fraction(1,3) + fraction(1,6)"), big numbers, and functions such as sqrt, log, sin, combinations.',
  input: z.strictObject({ expression: z.string().describe('The expression to evaluate') }),
  run: ({ expression }) => calculate(expression).result,
});
