import { describe, expect, it } from 'vitest';
import { calculate, calculatorTool } from '../../activities/game/judge/calculator.js';

describe('calculate', () => {
  it.each([
    ['1 + 2 * 3', '7'],
    ['0.1 + 0.2', '0.3'],
    ['(17 * 23) / 2', '195.5'],
    ['fraction(1, 3) + fraction(1, 6)', '1/2'],
    ['fraction("3/4") * fraction(2)', '3/2'], // BigNumber × Fraction needs an explicit fraction(): mathjs refuses to mix them
    ['5 km/h * 2 h to m', '10000 m'],
    ['12 inch to cm', '30.48 cm'],
    ['2^100', '1267650600228229401496703205376'],
    ['bignumber("12345678901234567890") * 10', '123456789012345678900'],
    ['combinations(10, 3)', '120'],
    ['x = 4; x^2 + 1', '17'],
  ])('%s = %s', (expr, result) => {
    expect(calculate(expr)).toEqual({ result });
  });

  it('rejects empty and over-long expressions', () => {
    expect(() => calculate('')).toThrow(/empty/);
    expect(() => calculate('1+'.repeat(1500) + '1')).toThrow(/longer than 2000/);
  });

  it('assignments do not leak between calls', () => {
    calculate('leak = 5');
    expect(() => calculate('leak + 1')).toThrow(/Undefined symbol leak/);
  });

  it.each([
    'import({}, {})',
    'createUnit("foo")',
    'evaluate("1+1")',
    'parse("1+1")',
    'compile("1+1")',
    'simplify("x + x")',
    'derivative("x^2", "x")',
    'resolve("x", {})',
    'config({ number: "number" })',
    '[].constructor.constructor("return process")()',
    'f = cos; f.constructor("return process")()',
    'cos.constructor("return process")()',
    'a = {}; a["constructor"]["constructor"]("return process")()',
    '"".constructor.prototype',
  ])('blocks %s', (expr) => {
    let out: unknown;
    expect(() => {
      out = calculate(expr);
    }).toThrow(/calculator:/);
    expect(JSON.stringify(out ?? null)).not.toMatch(/process|pid/);
  });
});

describe('calculatorTool', () => {
  it('returns {"result"} or {"error"} and never throws', async () => {
    expect(calculatorTool.name).toBe('calculate');
    expect(JSON.parse(await calculatorTool.run({ expression: '6 * 7' }))).toEqual({ result: '42' });
    expect(JSON.parse(await calculatorTool.run({ expression: 'import({}, {})' }))).toHaveProperty('error');
    expect(JSON.parse(await calculatorTool.run({}))).toHaveProperty('error');
    expect(JSON.parse(await calculatorTool.run(null))).toHaveProperty('error');
  });
});
