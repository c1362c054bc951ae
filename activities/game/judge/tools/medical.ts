import { z } from 'zod';
import type { ToolSpec } from '../../models/chat-model.js';
import { defineTool } from '../define-tool.js';

/**
 * Clinical calculators for checking questions, not for patient care. Units are in every name.
 * Inputs outside physiological ranges throw: a judge should not "verify" an answer computed from
 * a 900 kg patient. Results carry float noise removed (6 decimals); rounding for display is left
 * to the caller, because the judge compares against the question's own rounding.
 */

type Sex = 'male' | 'female';

function check(name: string, value: number, min: number, max: number, unit: string): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max} ${unit} (got ${value})`);
  }
}
const weight = (kg: number) => check('weightKg', kg, 0.2, 700, 'kg'); // 0.2 kg: extreme preterm; 700 kg: above any recorded human
const height = (cm: number) => check('heightCm', cm, 20, 280, 'cm');
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** BMI = weight (kg) / height (m)²; categories are the WHO adult cut-offs. */
export function bmi({ weightKg, heightCm }: { weightKg: number; heightCm: number }): { bmi: number; unit: 'kg/m²'; whoCategory: string } {
  weight(weightKg);
  height(heightCm);
  const value = weightKg / (heightCm / 100) ** 2;
  const whoCategory = value < 18.5 ? 'underweight' : value < 25 ? 'normal' : value < 30 ? 'overweight' : 'obese';
  return { bmi: r6(value), unit: 'kg/m²', whoCategory };
}

/**
 * Body surface area in m².
 * Mosteller (N Engl J Med 1987;317:1098): √(height cm × weight kg / 3600).
 * Du Bois & Du Bois (Arch Intern Med 1916;17:863): 0.007184 × height cm^0.725 × weight kg^0.425.
 */
export function bsa({ weightKg, heightCm, formula }: { weightKg: number; heightCm: number; formula: 'mosteller' | 'dubois' }): { bsa: number; unit: 'm²'; formula: string } {
  weight(weightKg);
  height(heightCm);
  const value = formula === 'mosteller'
    ? Math.sqrt((heightCm * weightKg) / 3600)
    : 0.007184 * heightCm ** 0.725 * weightKg ** 0.425;
  return { bsa: r6(value), unit: 'm²', formula };
}

/**
 * Cockcroft–Gault creatinine clearance (Nephron 1976;16:31), mL/min (not normalised to 1.73 m²):
 * (140 − age) × weight kg / (72 × Scr mg/dL), × 0.85 if female. Uses the weight given (actual,
 * ideal or adjusted is the caller's choice — the question decides).
 */
export function cockcroftGault({ ageYears, weightKg, serumCreatinineMgDl, sex }: { ageYears: number; weightKg: number; serumCreatinineMgDl: number; sex: Sex }): { creatinineClearance: number; unit: 'mL/min' } {
  check('ageYears', ageYears, 18, 120, 'years');
  weight(weightKg);
  check('serumCreatinineMgDl', serumCreatinineMgDl, 0.1, 30, 'mg/dL');
  const value = ((140 - ageYears) * weightKg) / (72 * serumCreatinineMgDl) * (sex === 'female' ? 0.85 : 1);
  return { creatinineClearance: r6(value), unit: 'mL/min' };
}

/**
 * CKD-EPI 2021 creatinine equation without race (Inker et al., N Engl J Med 2021;385:1737; as given by
 * the NKF): 142 × min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200 × 0.9938^age × 1.012 [female];
 * κ = 0.7 F / 0.9 M, α = −0.241 F / −0.302 M. Adults only. Result in mL/min/1.73 m²; labs report
 * it rounded to a whole number (eGfrRounded).
 */
export function ckdEpi2021({ serumCreatinineMgDl, ageYears, sex }: { serumCreatinineMgDl: number; ageYears: number; sex: Sex }): { eGfr: number; eGfrRounded: number; unit: 'mL/min/1.73 m²' } {
  check('serumCreatinineMgDl', serumCreatinineMgDl, 0.1, 30, 'mg/dL');
  check('ageYears', ageYears, 18, 120, 'years');
  const female = sex === 'female';
  const kappa = female ? 0.7 : 0.9;
  const alpha = female ? -0.241 : -0.302;
  const ratio = serumCreatinineMgDl / kappa;
  const value = 142 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.2 * 0.9938 ** ageYears * (female ? 1.012 : 1);
  return { eGfr: r6(value), eGfrRounded: Math.round(value), unit: 'mL/min/1.73 m²' };
}

/** Dose = weight × mg/kg, capped at maxMg when given (the usual "max single dose" rule). */
export function weightBasedDose({ weightKg, mgPerKg, maxMg }: { weightKg: number; mgPerKg: number; maxMg?: number }): { doseMg: number; uncappedMg: number; capped: boolean } {
  weight(weightKg);
  check('mgPerKg', mgPerKg, 0, 10_000, 'mg/kg');
  if (maxMg !== undefined) check('maxMg', maxMg, 0, 1e7, 'mg');
  const uncapped = weightKg * mgPerKg;
  const capped = maxMg !== undefined && uncapped > maxMg;
  return { doseMg: r6(capped ? maxMg! : uncapped), uncappedMg: r6(uncapped), capped };
}

export type Analyte = 'glucose' | 'cholesterol' | 'triglycerides' | 'creatinine' | 'urea';
export type ConcentrationUnit = 'mg/dL' | 'mmol/L' | 'µmol/L';

/**
 * mg/dL per mmol/L, i.e. molar mass (g/mol) ÷ 10 (1 mmol/L = M mg/L = M/10 mg/dL). Conventional
 * clinical-chemistry factors:
 * - glucose C6H12O6, M = 180.16 → 18.016
 * - cholesterol, M = 386.65 → 38.67
 * - triglycerides, conventionally as triolein, M ≈ 885.7 → 88.57
 * - creatinine, M = 113.12: labs use "1 mg/dL = 88.4 µmol/L", so 1000/88.4 ≈ 11.312 mg/dL per mmol/L
 * - urea: the mg/dL side is BUN (urea NITROGEN, the US report), 2 N × 14.007 = 28.014 → 2.801
 *   (BUN mg/dL × 0.357 = urea mmol/L). Urea itself in mg/dL would be BUN × 2.14; not handled here.
 */
const MG_DL_PER_MMOL_L: Record<Analyte, number> = {
  glucose: 18.016,
  cholesterol: 38.67,
  triglycerides: 88.57,
  creatinine: 1000 / 88.4,
  urea: 2.801,
};

export function convertConcentration({ value, from, analyte }: { value: number; from: ConcentrationUnit; analyte: Analyte }): {
  analyte: Analyte; mgPerDl: number; mmolPerL: number; umolPerL: number; factorMgDlPerMmolL: number; note?: string;
} {
  check('value', value, 0, 1e6, from);
  const f = MG_DL_PER_MMOL_L[analyte];
  const mmol = from === 'mg/dL' ? value / f : from === 'mmol/L' ? value : value / 1000;
  // Creatinine in µmol/L is computed from the 88.4 convention directly, so 1.0 mg/dL is exactly 88.4.
  const umol = analyte === 'creatinine' && from === 'mg/dL' ? value * 88.4 : mmol * 1000;
  return {
    analyte,
    mgPerDl: r6(from === 'mg/dL' ? value : mmol * f),
    mmolPerL: r6(mmol),
    umolPerL: r6(umol),
    factorMgDlPerMmolL: r6(f),
    ...(analyte === 'urea' ? { note: 'the mg/dL value is BUN (urea nitrogen, 28.014 mg per mmol urea); urea itself in mg/dL would be BUN × 2.14' } : {}),
  };
}

// ---- ToolSpecs ----

const sexField = z.enum(['male', 'female']).describe('Sex assigned at birth, as the equations use it');
const weightField = z.number().describe('Body weight in kg');
const heightField = z.number().describe('Height in cm');

export const bmiTool: ToolSpec = defineTool({
  name: 'bmi',
  description: 'Body mass index in kg/m² (weight kg / height m²) with the WHO adult category.',
  input: z.strictObject({ weightKg: weightField, heightCm: heightField }),
  run: bmi,
});

export const bodySurfaceAreaTool: ToolSpec = defineTool({
  name: 'body_surface_area',
  description: 'Body surface area in m²: Mosteller sqrt(cm*kg/3600) or Du Bois 0.007184*cm^0.725*kg^0.425.',
  input: z.strictObject({ weightKg: weightField, heightCm: heightField, formula: z.enum(['mosteller', 'dubois']) }),
  run: bsa,
});

export const cockcroftGaultTool: ToolSpec = defineTool({
  name: 'cockcroft_gault',
  description: 'Cockcroft-Gault creatinine clearance in mL/min: (140-age)*kg/(72*Scr mg/dL), *0.85 if female.',
  input: z.strictObject({
    ageYears: z.number(), weightKg: weightField,
    serumCreatinineMgDl: z.number().describe('Serum creatinine in mg/dL (µmol/L ÷ 88.4)'), sex: sexField,
  }),
  run: cockcroftGault,
});

export const ckdEpi2021Tool: ToolSpec = defineTool({
  name: 'ckd_epi_2021',
  description: 'eGFR in mL/min/1.73 m² by the race-free CKD-EPI 2021 creatinine equation (adults).',
  input: z.strictObject({
    serumCreatinineMgDl: z.number().describe('Standardised (IDMS) serum creatinine in mg/dL'), ageYears: z.number(), sex: sexField,
  }),
  run: ckdEpi2021,
});

export const weightBasedDoseTool: ToolSpec = defineTool({
  name: 'weight_based_dose',
  description: 'Dose in mg = weight kg × mg/kg, capped at maxMg if given.',
  input: z.strictObject({ weightKg: weightField, mgPerKg: z.number(), maxMg: z.number().optional() }),
  run: weightBasedDose,
});

export const convertConcentrationTool: ToolSpec = defineTool({
  name: 'convert_concentration',
  description:
    'Convert a lab value between mg/dL, mmol/L and µmol/L for glucose (18.016), cholesterol (38.67), ' +
    'triglycerides (88.57), creatinine (1 mg/dL = 88.4 µmol/L) or urea (BUN mg/dL ÷ 2.801 = urea mmol/L).',
  input: z.strictObject({
    value: z.number(),
    from: z.enum(['mg/dL', 'mmol/L', 'µmol/L', 'umol/L']),
    analyte: z.enum(['glucose', 'cholesterol', 'triglycerides', 'creatinine', 'urea']),
  }),
  run: ({ value, from, analyte }) => convertConcentration({ value, analyte, from: from === 'umol/L' ? 'µmol/L' : from }),
});

export const medicalTools: ToolSpec[] = [
  bmiTool, bodySurfaceAreaTool, cockcroftGaultTool, ckdEpi2021Tool, weightBasedDoseTool, convertConcentrationTool,
];
