import type { Fraction } from 'mathjs';
import { z } from 'zod';
import type { ToolSpec } from '../../models/chat-model.js';
import { defineTool } from '../define-tool.js';
import { hardenedMath } from '../safe-math.js';

/**
 * Exact rational arithmetic for the judge. Unlike `calculate` (BigNumber, 64 digits), numbers here
 * are mathjs Fractions, so 1/3 + 1/6 is exactly 1/2 and never 0.4999…. Irrational operations
 * (sqrt, sin, log, pi) have no exact rational value: mathjs either falls back to a float (then we
 * say exact: false) or refuses (then the error says to use `calculate`).
 *
 * Hardened for untrusted expressions like the calculator (safe-math.ts).
 */

export const MAX_EXPRESSION_LENGTH = 2000;

const { math, evaluate } = hardenedMath({ number: 'Fraction' });
const fractionOf = math.fraction.bind(math);

export interface ExactValue {
  /** True when the value is an exact rational (or a boolean); false for a float approximation. */
  exact: boolean;
  /** "p/q" (or an integer) when exact and rational. */
  fraction?: string;
  /** Exact decimal with the repeating part in parentheses, e.g. "0.1(6)" for 1/6; or a float. */
  decimal?: string;
  /** Anything else (units, matrices, booleans), as mathjs formats it. */
  value?: string;
}

function describe(v: unknown): ExactValue {
  if (math.isFraction(v)) {
    const f = v as Fraction;
    return { exact: true, fraction: f.toFraction(), decimal: f.toString() };
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`result is ${v}`);
    return { exact: false, decimal: math.format(v, { precision: 17 }) };
  }
  if (typeof v === 'boolean') return { exact: true, value: String(v) };
  if (typeof v === 'function') throw new Error('the expression evaluates to a function, not a value');
  // ResultSet (several statements separated by ; or newlines): the last value, as a calculator would.
  if (v && typeof v === 'object' && 'entries' in v && Array.isArray((v as { entries: unknown[] }).entries)) {
    const entries = (v as { entries: unknown[] }).entries;
    if (!entries.length) throw new Error('no value');
    return describe(entries[entries.length - 1]);
  }
  return { exact: false, value: math.format(v, { fraction: 'ratio' }) };
}

function run(expression: string, scope: Map<string, unknown>): unknown {
  if (expression.trim() === '') throw new Error('empty expression');
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new Error(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  try {
    return evaluate(expression, scope);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // mathjs's wording for e.g. sqrt(Fraction) is confusing; say what it means for the caller.
    if (/implicitly convert a Fraction/.test(msg)) {
      throw new Error('this function has no exact rational result (e.g. sqrt, trig, log); use the calculate tool for a decimal value');
    }
    throw new Error(msg);
  }
}

/** Evaluate with exact fractions; a fresh scope per call so nothing leaks between calls. */
export function exactArithmetic(expression: string): ExactValue {
  return describe(run(expression, new Map()));
}

/** Indices of the single '=' that separates the sides ('==', '<=', '>=', '!=' are comparisons). */
function splitEquation(equation: string): [string, string] {
  const positions: number[] = [];
  for (let i = 0; i < equation.length; i++) {
    if (equation[i] !== '=') continue;
    const prev = equation[i - 1] ?? '';
    const next = equation[i + 1] ?? '';
    if (next === '=' || (prev !== '' && '=<>!'.includes(prev))) continue;
    positions.push(i);
  }
  if (positions.length !== 1) throw new Error(`equation must contain exactly one "=" (found ${positions.length})`);
  const i = positions[0]!;
  const lhs = equation.slice(0, i).trim();
  const rhs = equation.slice(i + 1).trim();
  if (!lhs || !rhs) throw new Error('both sides of the equation must be non-empty');
  return [lhs, rhs];
}

export type VariableValue = number | string;

/**
 * Does `lhs = rhs` hold for the given variable values? Numbers become exact fractions (0.1 is 1/10);
 * string values are evaluated exactly ("1/3"). With exact values on both sides the comparison is
 * exact; otherwise mathjs's equal (relative tolerance 1e-12) is used and `exact` is false.
 */
export function checkEquation({ equation, variables = {} }: { equation: string; variables?: Record<string, VariableValue> }): {
  holds: boolean; exact: boolean; lhs: ExactValue; rhs: ExactValue;
} {
  const [lhsText, rhsText] = splitEquation(equation);
  const scope = new Map<string, unknown>();
  for (const [name, value] of Object.entries(variables)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid variable name ${JSON.stringify(name)}`);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`variable ${name} is not a finite number`);
    scope.set(name, typeof value === 'number' ? fractionOf(value) : run(value, new Map()));
  }
  const l = run(lhsText, new Map(scope));
  const r = run(rhsText, new Map(scope));
  const ld = describe(l);
  const rd = describe(r);
  let holds: boolean;
  if (math.isFraction(l) && math.isFraction(r)) holds = (l as Fraction).equals(r as Fraction);
  else holds = Boolean(math.deepEqual(l as never, r as never));
  return { holds, exact: ld.exact && rd.exact, lhs: ld, rhs: rd };
}

// ---- ToolSpecs ----

export const exactArithmeticTool: ToolSpec = defineTool({
  name: 'exact_arithmetic',
  description:
    'Evaluate an arithmetic expression with exact fractions (mathjs syntax): "1/3 + 1/6" gives 1/2 and ' +
    'decimal 0.5; repeating decimals are shown as "0.(3)". Irrational functions are not exact: use calculate.',
  input: z.strictObject({ expression: z.string().min(1).describe('The expression, e.g. "(2/3)^2 - 1/9"') }),
  run: ({ expression }) => exactArithmetic(expression),
});

export const checkEquationTool: ToolSpec = defineTool({
  name: 'check_equation',
  description:
    'Check exactly whether an equation "lhs = rhs" holds for given variable values, e.g. ' +
    '{"equation": "x^2 - 5x + 6 = 0", "variables": {"x": 3}}. Values may be numbers or exact strings like "1/3".',
  input: z.strictObject({
    equation: z.string().min(1).describe('One equation with a single "=", mathjs syntax'),
    variables: z.record(z.string(), z.union([z.number(), z.string()])).optional().describe('Variable values by name'),
  }),
  run: (input) => checkEquation(input),
});

export const mathTools: ToolSpec[] = [exactArithmeticTool, checkEquationTool];
