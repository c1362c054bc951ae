import { describe, expect, it } from 'vitest';
import { promptText, sharedPrefixShares } from '../../bench/lib/prompt-prefix.js';

const req = (role: string, system: string, user: string) => ({ role, body: { messages: [{ role: 'system', content: system }, { role: 'user', content: user }] } });

describe('the share of a prompt a prefix cache can serve (bench/lib/prompt-prefix.ts)', () => {
  it('counts, per role, the characters each request repeats from the start of that role\'s previous one', () => {
    const rules = 'R'.repeat(90);
    const shares = sharedPrefixShares([
      req('judge', rules, 'q1'),
      req('attacker', 'A', 'x'),
      req('judge', rules, 'q2'),
      req('judge', 'changed rules', 'q3'),
    ]);
    const full = promptText(req('judge', rules, 'q2').body).length;
    const shared = promptText(req('judge', rules, 'q1').body).length - 1; // all but the last character of "q1"
    const third = promptText(req('judge', 'changed rules', 'q3').body).length;
    const prefix3 = promptText(req('judge', 'changed rules', 'q3').body).indexOf('changed');
    expect(shares.judge).toBeCloseTo((shared + prefix3) / (full + third), 10);
    expect(shares.attacker).toBeUndefined(); // one request: nothing before it to share with
  });

  it('puts tools and the answer schema first, as a provider reads them', () => {
    expect(promptText({ tools: [{ t: 1 }], response_format: { s: 1 }, messages: [{ role: 'user', content: 'hi' }] })).toBe('[{"t":1}]{"s":1}<user>hi');
  });
});
