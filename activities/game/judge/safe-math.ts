import { all, type ConfigOptions, create, type MathJsInstance } from 'mathjs';

/**
 * A mathjs instance for expressions written by a model (untrusted), per mathjs's security guide:
 * a private instance whose meta-functions — which could define functions, parse new code or change
 * the instance — are replaced by functions that throw. mathjs's evaluator already blocks
 * constructor/prototype access. `evaluate` is a private reference taken before the public name is
 * disabled; `prepare` may extend the instance first (it runs before `import` is disabled).
 */
const DISABLED = [
  'import', 'createUnit', 'reviver', 'evaluate', 'parse', 'compile', 'parser', 'simplify',
  'simplifyConstant', 'simplifyCore', 'derivative', 'resolve', 'rationalize', 'chain', 'config',
] as const;

export function hardenedMath(config: ConfigOptions, prepare?: (math: MathJsInstance) => void): { math: MathJsInstance; evaluate: MathJsInstance['evaluate'] } {
  const math = create(all!, config);
  const evaluate = math.evaluate.bind(math) as MathJsInstance['evaluate'];
  prepare?.(math);
  math.import(
    Object.fromEntries(DISABLED.map((name) => [name, () => { throw new Error(`function ${name} is disabled`); }])),
    { override: true },
  );
  return { math, evaluate };
}
