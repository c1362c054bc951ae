import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePythonSandbox } from '../../activities/game/judge/python-sandbox.js';
import { JUNK_REASONS, type Outcome } from '../../common/contracts/game.js';
import { FIXTURE_PATH, fixtureText } from '../fixtures/judge-gate/generate.js';
import { type GateResult, headline, loadEpisodes, runGate, TARGETS } from '../support/judge-gate.js';

/**
 * The labelled set of `npm run bench:judge` and the verified gate on it: a correctness check of the
 * gate on fixed data (the real junk guards, prompt overlap and Pyodide sandbox; the Judge says yes
 * to everything), not a timing test.
 */

/** Issue 12's composition: at least this many of each label. */
const MIN_PER_LABEL = { good: 20, wrong_reference: 12, junk: 12, prompt_leak: 8, defender_right: 10 };

describe('the judge-gate fixture', () => {
  it('is what its generator writes (regenerate with `npx tsx tests/fixtures/judge-gate/generate.ts`)', () => {
    expect(readFileSync(FIXTURE_PATH, 'utf8')).toBe(fixtureText());
  });

  it('has at least 60 episodes and every label in the counts the issue asks for', () => {
    const episodes = loadEpisodes();
    expect(episodes.length).toBeGreaterThanOrEqual(60);
    for (const [label, min] of Object.entries(MIN_PER_LABEL)) {
      expect(episodes.filter((e) => e.label === label).length, label).toBeGreaterThanOrEqual(min);
    }
    expect(episodes.some((e) => e.pack === 'medical')).toBe(true);
    expect(episodes.filter((e) => e.pack === 'math').length).toBeGreaterThan(episodes.length / 2);
  });

  it('names the line and the field of a bad episode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'judge-gate-'));
    try {
      const good = readFileSync(FIXTURE_PATH, 'utf8').split('\n')[0]!;
      const bad = JSON.stringify({ ...JSON.parse(good), id: 'x', label: 'maybe' });
      writeFileSync(join(dir, 'e.jsonl'), `${good}\n${bad}\n`);
      expect(() => loadEpisodes(join(dir, 'e.jsonl'))).toThrow(/e\.jsonl:2: label: /);
      writeFileSync(join(dir, 'e.jsonl'), `${good}\n${good}\n`);
      expect(() => loadEpisodes(join(dir, 'e.jsonl'))).toThrow(/e\.jsonl:2: duplicate id good-01/);
      writeFileSync(join(dir, 'e.jsonl'), '{"id": \n');
      expect(() => loadEpisodes(join(dir, 'e.jsonl'))).toThrow(/e\.jsonl:1: not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the verified gate on the fixture, with a Judge that says yes to everything', () => {
  const results: GateResult[] = [];
  beforeAll(async () => {
    for (const e of loadEpisodes()) results.push(await runGate(e));
  }, 90_000);
  afterAll(() => closePythonSandbox());

  it('meets the targets the yes-Judge alone misses', () => {
    const gate = headline(results);
    const alone = headline(results.map((r) => ({ label: r.label, outcome: r.judgeAlone })));
    for (const t of TARGETS) {
      expect(gate[t.key].rate, `${t.what}: ${gate[t.key].hits}/${gate[t.key].of}`).toBeGreaterThanOrEqual(t.min);
    }
    expect(alone.badRejected.rate).toBe(0);
    expect(alone.defenderRightCaught.rate).toBe(0);
  });

  it('stops each kind of bad episode at the step meant for it', () => {
    const of = (label: string) => results.filter((r) => r.label === label);
    for (const r of of('junk')) expect((JUNK_REASONS as readonly Outcome[]).includes(r.outcome), `${r.id}: ${r.outcome}`).toBe(true);
    for (const r of of('prompt_leak')) expect(r.outcome, r.id).toBe('prompt_leak');
    for (const r of of('wrong_reference').filter((x) => x.pack === 'math')) {
      expect(r.stage, r.id).toBe('reference check');
      expect(r.outcome, r.id).toBe(r.variant === 'slip' ? 'reference_wrong' : 'reference_unverified');
    }
    for (const r of of('defender_right')) expect(r.detail, r.id).toMatch(/decided by rule$/);
  });

  it('lets through only what no deterministic check can see: a reference that names the wrong option', () => {
    expect(results.filter((r) => !r.right).map((r) => `${r.id} ${r.variant}`)).toEqual(['wrong_reference-12 option_swapped']);
  });
});
