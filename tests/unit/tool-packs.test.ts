import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../activities/game/judge/define-tool.js';
import { findOrfs, gcContent, meltingTemperature, reverseComplement, translate } from '../../activities/game/judge/tools/genomics.js';
import { toolPacks, toolsForDomain } from '../../activities/game/judge/tools/index.js';
import { checkEquation, exactArithmetic } from '../../activities/game/judge/tools/math.js';
import { bmi, bsa, ckdEpi2021, cockcroftGault, convertConcentration, weightBasedDose } from '../../activities/game/judge/tools/medical.js';

const allTools = Object.values(toolPacks).flat();
const tool = (name: string) => allTools.find((t) => t.name === name)!;
const call = async (name: string, args: unknown) => JSON.parse(await tool(name).run(args)) as { result?: any; error?: string };

describe('genomics', () => {
  // Biopython Tutorial & Cookbook, "Sequence objects": my_seq = GATCGATGGGCCTATATAGGATCGAAAATCGC,
  // my_seq.reverse_complement() == GCGATTTTCGATCCTATATAGGCCCATCGATC, and gc_fraction(my_seq) == 0.46875.
  const tutorialSeq = 'GATCGATGGGCCTATATAGGATCGAAAATCGC';

  it('reverse complement and GC content (Biopython tutorial)', () => {
    expect(reverseComplement(tutorialSeq)).toBe('GCGATTTTCGATCCTATATAGGCCCATCGATC');
    expect(reverseComplement('acgtn')).toBe('NACGT'); // normalised to upper case
    const gc = gcContent(tutorialSeq);
    expect(gc.fraction).toBe(0.46875);
    expect(gc.percent).toBe(46.875);
    expect(gcContent('GGNN').fraction).toBe(1); // N is excluded from the denominator
  });

  // Biopython tutorial, "Translation": coding_dna = ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG;
  // translate() -> MAIVMGR*KGAR*, translate(to_stop=True) -> MAIVMGR.
  const coding = 'ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG';
  it('translates with the standard table (Biopython tutorial)', () => {
    expect(translate(coding).protein).toBe('MAIVMGR*KGAR*');
    expect(translate(coding, { toStop: true }).protein).toBe('MAIVMGR');
    expect(translate('AATGTTTNNN', { frame: 1 })).toMatchObject({ protein: 'MFX', codons: 3 });
  });

  it('finds ORFs on both strands with forward-strand coordinates', () => {
    // The first ATG reads to TGA at 22-24; the ATG at 13 is nested in it and not reported again.
    expect(findOrfs(coding, { minLength: 5 }).orfs).toEqual([
      { strand: '+', frame: 0, start: 1, end: 24, lengthNt: 24, protein: 'MAIVMGR' },
    ]);
    // ATG AAA CCC TAA placed reverse-complemented: TTAGGGTTTCAT at forward positions 3-14.
    const minus = 'CC' + reverseComplement('ATGAAACCCTAA') + 'G';
    expect(findOrfs(minus, { minLength: 3 }).orfs).toEqual([
      { strand: '-', frame: 1, start: 3, end: 14, lengthNt: 12, protein: 'MKP' },
    ]);
    expect(findOrfs(minus, { minLength: 4 }).count).toBe(0);
  });

  it('melting temperature: Wallace below 14 nt, basic formula from 14 nt', () => {
    // Wallace worked example (seqrun.com Tm tool): ACGTACGT, 4 A/T + 4 G/C -> 2·4 + 4·4 = 24 °C.
    expect(meltingTemperature('ACGTACGT')).toMatchObject({ tmCelsius: 24, method: 'wallace' });
    // 13 nt is still Wallace: GCGCGCGCGCGCG has 7 G + 6 C -> 4·13 = 52 °C.
    expect(meltingTemperature('GCGCGCGCGCGCG')).toMatchObject({ tmCelsius: 52, method: 'wallace' });
    // Basic (OligoCalc) by hand: 20-mer, G+C = 10 -> 64.9 + 41·(10 − 16.4)/20 = 64.9 − 13.12 = 51.78 °C.
    expect(meltingTemperature('ACGTACGTACGTACGTACGT')).toMatchObject({ tmCelsius: 51.78, method: 'basic' });
    expect(() => meltingTemperature('ACGNACGT')).toThrow(/N at position 4/);
  });

  it('names the position of an invalid character', () => {
    expect(() => reverseComplement('ACGU')).toThrow(/"U" at position 4/);
    expect(() => gcContent('AC GX')).toThrow(/"X" at position 5/); // position in the input as given
  });
});

describe('medical', () => {
  it('BMI (CDC metric example: 68 kg, 165 cm -> 24.98)', () => {
    expect(bmi({ weightKg: 68, heightCm: 165 }).bmi).toBeCloseTo(24.98, 2);
    expect(bmi({ weightKg: 68, heightCm: 165 }).whoCategory).toBe('normal');
  });

  it('BSA: Mosteller and Du Bois', () => {
    // Mosteller: √(180·80/3600) = √4 = 2.00 m² exactly.
    expect(bsa({ weightKg: 80, heightCm: 180, formula: 'mosteller' }).bsa).toBe(2);
    // Published Mosteller example (omnicalc BSA page): 175 cm, 70 kg -> √3.4028 = 1.845 m².
    expect(bsa({ weightKg: 70, heightCm: 175, formula: 'mosteller' }).bsa).toBeCloseTo(1.845, 3);
    // Du Bois by hand: 180^0.725 = 43.17, 80^0.425 = 6.439; 0.007184 · 43.17 · 6.439 ≈ 1.997 m².
    expect(bsa({ weightKg: 80, heightCm: 180, formula: 'dubois' }).bsa).toBeCloseTo(2.0, 2);
  });

  it('Cockcroft–Gault', () => {
    // 60-year-old 72 kg male, Scr 1.0: (140 − 60)·72 / (72·1.0) = 80 mL/min.
    expect(cockcroftGault({ ageYears: 60, weightKg: 72, serumCreatinineMgDl: 1.0, sex: 'male' }).creatinineClearance).toBe(80);
    // superglobalcalculator.com example 2: female, 45 y, 60 kg, Scr 0.9 -> 5700/64.8 · 0.85 = 74.8 mL/min.
    expect(cockcroftGault({ ageYears: 45, weightKg: 60, serumCreatinineMgDl: 0.9, sex: 'female' }).creatinineClearance).toBeCloseTo(74.77, 2);
  });

  it('CKD-EPI 2021 (computed by hand from the NKF-published equation)', () => {
    // Male, 50 y, Scr 1.0: Scr/κ = 1/0.9 = 1.1111; min term 1; max term 1.1111^−1.2 = e^(−1.2·0.10536) = 0.88123;
    // 0.9938^50 = e^(50·−0.0062193) = 0.73278; 142 · 0.88123 · 0.73278 = 91.69 -> 92 mL/min/1.73 m².
    const m = ckdEpi2021({ serumCreatinineMgDl: 1.0, ageYears: 50, sex: 'male' });
    expect(m.eGfr).toBeCloseTo(91.69, 1);
    expect(m.eGfrRounded).toBe(92);
    // Female, 60 y, Scr 0.6: Scr/κ = 0.6/0.7 = 0.85714; min term 0.85714^−0.241 = e^(0.241·0.15415) = 1.03785;
    // max term 1; 0.9938^60 = 0.68855; 142 · 1.03785 · 0.68855 · 1.012 = 102.69 -> 103.
    const f = ckdEpi2021({ serumCreatinineMgDl: 0.6, ageYears: 60, sex: 'female' });
    expect(f.eGfr).toBeCloseTo(102.69, 1);
    expect(f.eGfrRounded).toBe(103);
  });

  it('weight-based dose with cap', () => {
    expect(weightBasedDose({ weightKg: 20, mgPerKg: 15 })).toEqual({ doseMg: 300, uncappedMg: 300, capped: false });
    expect(weightBasedDose({ weightKg: 90, mgPerKg: 15, maxMg: 1000 })).toEqual({ doseMg: 1000, uncappedMg: 1350, capped: true });
  });

  it('concentration conversions with the documented factors', () => {
    expect(convertConcentration({ value: 100, from: 'mg/dL', analyte: 'glucose' }).mmolPerL).toBeCloseTo(5.55, 2);
    expect(convertConcentration({ value: 200, from: 'mg/dL', analyte: 'cholesterol' }).mmolPerL).toBeCloseTo(5.17, 2);
    expect(convertConcentration({ value: 150, from: 'mg/dL', analyte: 'triglycerides' }).mmolPerL).toBeCloseTo(1.69, 2);
    expect(convertConcentration({ value: 1.0, from: 'mg/dL', analyte: 'creatinine' }).umolPerL).toBe(88.4);
    expect(convertConcentration({ value: 88.4, from: 'µmol/L', analyte: 'creatinine' }).mgPerDl).toBeCloseTo(1.0, 6);
    // BUN 14 mg/dL × 0.357 ≈ 5.0 mmol/L urea (Wikipedia "Blood urea nitrogen"; 14 / 2.801 = 4.998).
    expect(convertConcentration({ value: 14, from: 'mg/dL', analyte: 'urea' }).mmolPerL).toBeCloseTo(5.0, 2);
    expect(convertConcentration({ value: 5.55, from: 'mmol/L', analyte: 'glucose' }).mgPerDl).toBeCloseTo(99.99, 2);
  });

  it('rejects out-of-range inputs', () => {
    expect(() => bmi({ weightKg: -70, heightCm: 170 })).toThrow(/weightKg/);
    expect(() => bmi({ weightKg: 70, heightCm: 1700 })).toThrow(/heightCm/);
    expect(() => ckdEpi2021({ serumCreatinineMgDl: 1, ageYears: 10, sex: 'male' })).toThrow(/ageYears/);
    expect(() => convertConcentration({ value: -1, from: 'mg/dL', analyte: 'glucose' })).toThrow(/value/);
  });
});

describe('math', () => {
  it('exact fractions', () => {
    expect(exactArithmetic('1/3 + 1/6')).toEqual({ exact: true, fraction: '1/2', decimal: '0.5' });
    expect(exactArithmetic('0.1 + 0.2')).toMatchObject({ exact: true, fraction: '3/10' });
    expect(exactArithmetic('1/6')).toMatchObject({ fraction: '1/6', decimal: '0.1(6)' });
    expect(exactArithmetic('2^(1/2)')).toMatchObject({ exact: false });
    expect(() => exactArithmetic('sqrt(2)')).toThrow(/no exact rational result/);
    expect(() => exactArithmetic('import({}, {})')).toThrow(/disabled/);
    expect(() => exactArithmetic('evaluate("1")')).toThrow(/disabled/);
  });

  it('checks equations exactly', () => {
    expect(checkEquation({ equation: '1/3 + 1/6 = 1/2' }).holds).toBe(true);
    expect(checkEquation({ equation: 'x^2 - 5x + 6 = 0', variables: { x: 3 } })).toMatchObject({ holds: true, exact: true });
    expect(checkEquation({ equation: 'x^2 - 5x + 6 = 0', variables: { x: 4 } }).holds).toBe(false);
    expect(checkEquation({ equation: '3x = 1', variables: { x: '1/3' } }).holds).toBe(true);
    // 1/3 ≈ 0.3333333333 is false exactly, although a float calculator would call it close.
    expect(checkEquation({ equation: '1/3 = 0.3333333333' }).holds).toBe(false);
    expect(() => checkEquation({ equation: 'x == 1' })).toThrow(/exactly one "="/);
  });
});

describe('tool specs', () => {
  it('defines the expected tools per pack', () => {
    expect(toolPacks.math.map((t) => t.name)).toEqual(['exact_arithmetic', 'check_equation']);
    expect(toolPacks.genomics.map((t) => t.name)).toEqual(['reverse_complement', 'gc_content', 'translate_dna', 'melting_temperature', 'find_orfs']);
    expect(toolPacks.medical.map((t) => t.name)).toEqual([
      'bmi', 'body_surface_area', 'cockcroft_gault', 'ckd_epi_2021', 'weight_based_dose', 'convert_concentration',
    ]);
    expect(toolsForDomain('medical')).toHaveLength(6);
    expect(toolsForDomain('astrology')).toEqual([]);
    expect(toolsForDomain('toString')).toEqual([]);
    expect(toolsForDomain(undefined)).toEqual([]);
  });

  it.each(allTools.map((t) => [t.name, t] as const))('%s: JSON Schema parameters, JSON errors on bad args', async (_name, t) => {
    expect(t.parameters.type).toBe('object');
    expect(t.parameters.properties).toBeTypeOf('object');
    expect(t.parameters).not.toHaveProperty('$schema');
    for (const bad of [null, 42, 'x', {}, { nonsense: true }]) {
      const out = JSON.parse(await t.run(bad));
      expect(out).toHaveProperty('error');
      expect(typeof out.error).toBe('string');
    }
  });

  it('runs through run(): results and readable errors', async () => {
    expect(await call('translate_dna', { sequence: 'ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG', toStop: true }))
      .toMatchObject({ result: { protein: 'MAIVMGR' } });
    expect(await call('cockcroft_gault', { ageYears: 60, weightKg: 72, serumCreatinineMgDl: 1, sex: 'male' }))
      .toEqual({ result: { creatinineClearance: 80, unit: 'mL/min' } });
    expect(await call('convert_concentration', { value: 1, from: 'mg/dL', analyte: 'creatinine' }))
      .toMatchObject({ result: { umolPerL: 88.4 } });
    expect(await call('exact_arithmetic', { expression: '1/3 + 1/6' })).toMatchObject({ result: { fraction: '1/2' } });
    expect(await call('reverse_complement', { sequence: 'ACXT' })).toEqual({ error: expect.stringMatching(/"X" at position 3/) });
    expect(await call('bmi', { weightKg: -1, heightCm: 170 })).toEqual({ error: expect.stringMatching(/weightKg must be between/) });
    expect(await call('translate_dna', { sequence: 'ATG', frame: 3 })).toEqual({ error: expect.stringMatching(/^frame: /) });
    expect(await call('gc_content', { sequence: 'ACGT', to_stop: true })).toEqual({ error: expect.stringMatching(/to_stop/) });
  });

  it('defineTool turns any thrown value into a JSON error', async () => {
    const t = defineTool({ name: 't', description: 'd', input: z.object({ n: z.number() }), run: () => { throw new Error('boom'); } });
    expect(JSON.parse(await t.run({ n: 1 }))).toEqual({ error: 'boom' });
    expect(JSON.parse(await t.run({ n: 'x' }))).toEqual({ error: expect.stringMatching(/^n: /) });
  });
});
