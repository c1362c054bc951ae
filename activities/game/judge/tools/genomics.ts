import { z } from 'zod';
import type { ToolSpec } from '../../models/chat-model.js';
import { defineTool } from '../define-tool.js';

/**
 * Deterministic DNA helpers for the judge. Conventions, stated once:
 * - Alphabet: A, C, G, T and the IUPAC "any base" N, case-insensitive. Whitespace (line breaks of a
 *   pasted FASTA body) is ignored. Output is always UPPER case (input case is not preserved).
 * - Anything else (U, other IUPAC codes, digits, '-') is an Error naming the 1-based position in the
 *   input as given, so the model can find the bad character.
 */

export const MAX_SEQUENCE_LENGTH = 100_000;

const COMPLEMENT: Record<string, string> = { A: 'T', T: 'A', G: 'C', C: 'G', N: 'N' };

/** Upper-cased sequence with whitespace removed; throws on any character outside ACGTN. */
export function normaliseDna(seq: string): string {
  let out = '';
  for (let i = 0; i < seq.length; i++) {
    const ch = seq[i]!;
    if (/\s/.test(ch)) continue;
    const up = ch.toUpperCase();
    if (!(up in COMPLEMENT)) {
      throw new Error(`invalid DNA character ${JSON.stringify(ch)} at position ${i + 1} (allowed: A, C, G, T, N)`);
    }
    out += up;
  }
  if (out.length > MAX_SEQUENCE_LENGTH) throw new Error(`sequence longer than ${MAX_SEQUENCE_LENGTH} nt`);
  return out;
}

export function reverseComplement(seq: string): string {
  const s = normaliseDna(seq);
  let out = '';
  for (let i = s.length - 1; i >= 0; i--) out += COMPLEMENT[s[i]!]!;
  return out;
}

function baseCounts(s: string): Record<'A' | 'C' | 'G' | 'T' | 'N', number> {
  const counts = { A: 0, C: 0, G: 0, T: 0, N: 0 };
  for (const ch of s) counts[ch as keyof typeof counts]++;
  return counts;
}

/** GC content over the definite bases: N is unknown, so it is excluded from the denominator. */
export function gcContent(seq: string): { length: number; gcCount: number; atCount: number; nCount: number; fraction: number; percent: number } {
  const s = normaliseDna(seq);
  const c = baseCounts(s);
  const definite = c.A + c.C + c.G + c.T;
  if (definite === 0) throw new Error('sequence has no A/C/G/T bases');
  const fraction = (c.G + c.C) / definite;
  return { length: s.length, gcCount: c.G + c.C, atCount: c.A + c.T, nCount: c.N, fraction, percent: fraction * 100 };
}

// NCBI genetic code table 1 (Standard), in NCBI's TCAG order: base1 varies slowest.
// https://www.ncbi.nlm.nih.gov/Taxonomy/Utils/wprintgc.cgi#SG1
const BASES = 'TCAG';
const TABLE1_AAS = 'FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG';
const CODON_TABLE: Record<string, string> = {};
for (let i = 0; i < 64; i++) {
  const codon = BASES[Math.floor(i / 16)]! + BASES[Math.floor(i / 4) % 4]! + BASES[i % 4]!;
  CODON_TABLE[codon] = TABLE1_AAS[i]!;
}
/** A codon containing N is not resolved: it translates to X (as Biopython does for unresolvable codons). */
function codonToAa(codon: string): string {
  return CODON_TABLE[codon] ?? 'X';
}

export interface TranslateOptions {
  /** Offset of the first codon from the 5' end (0, 1 or 2). */
  frame?: 0 | 1 | 2;
  /** Stop before the first stop codon (like Biopython's to_stop=True); otherwise stops are written '*'. */
  toStop?: boolean;
}

/** Translate the given strand with table 1. A trailing partial codon is ignored. */
export function translate(seq: string, options: TranslateOptions = {}): { protein: string; frame: number; codons: number; ignoredTrailingBases: number } {
  const s = normaliseDna(seq);
  const frame = options.frame ?? 0;
  let protein = '';
  let codons = 0;
  for (let i = frame; i + 3 <= s.length; i += 3) {
    const aa = codonToAa(s.slice(i, i + 3));
    codons++;
    if (aa === '*' && options.toStop) break;
    protein += aa;
  }
  const usable = Math.max(0, s.length - frame);
  return { protein, frame, codons, ignoredTrailingBases: usable % 3 };
}

/**
 * Oligo melting temperature, the two "basic" rules used by OligoCalc (Kibbe 2007, Nucleic Acids Res
 * 35:W43) and the BioPHP/biotechtutorials Tm calculators:
 * - fewer than 14 nt: Wallace rule, Tm = 2·(A+T) + 4·(G+C) °C (Wallace et al. 1979);
 * - 14 nt or more: Tm = 64.9 + 41·(G+C − 16.4)/N °C (Marmur–Doty-derived "basic" formula).
 * Both assume 50 nM primer, 50 mM Na+, pH 7.0. This is NOT the salt-adjusted formula
 * (81.5 + 16.6·log10[Na+] + …) nor nearest-neighbour thermodynamics, so it is a rough estimate.
 * N is refused: with an unknown base the Tm is a range, not a value.
 */
export function meltingTemperature(seq: string): { tmCelsius: number; method: 'wallace' | 'basic'; formula: string; length: number; gcCount: number; atCount: number } {
  const s = normaliseDna(seq);
  const n = s.indexOf('N');
  if (n >= 0) throw new Error(`ambiguous base N at position ${n + 1} of the sequence: Tm needs definite bases`);
  if (s.length === 0) throw new Error('empty sequence');
  const c = baseCounts(s);
  const gc = c.G + c.C;
  const at = c.A + c.T;
  if (s.length < 14) {
    return { tmCelsius: 2 * at + 4 * gc, method: 'wallace', formula: '2·(A+T) + 4·(G+C)', length: s.length, gcCount: gc, atCount: at };
  }
  const tm = 64.9 + (41 * (gc - 16.4)) / s.length;
  return { tmCelsius: Math.round(tm * 1e6) / 1e6, method: 'basic', formula: '64.9 + 41·(G+C−16.4)/N', length: s.length, gcCount: gc, atCount: at };
}

export interface Orf {
  strand: '+' | '-';
  /** Reading frame 0–2, counted from the 5' end of the strand the ORF is on. */
  frame: 0 | 1 | 2;
  /** 1-based inclusive coordinates on the FORWARD (given) sequence; start < end for both strands. */
  start: number;
  end: number;
  /** Nucleotides from the A of ATG through the stop codon. */
  lengthNt: number;
  /** Amino acids, without the stop. */
  protein: string;
}

/**
 * Open reading frames on both strands: from an ATG to the first in-frame stop (TAA, TAG, TGA),
 * stop included in the coordinates. Like NCBI ORFfinder's "ATG only" mode, an ATG inside an ORF
 * does not start a second, nested ORF, and a reading frame that runs off the end without a stop is
 * not reported. `minLength` is the minimum protein length in amino acids (stop not counted).
 */
export function findOrfs(seq: string, options: { minLength?: number } = {}): { orfs: Orf[]; count: number } {
  const s = normaliseDna(seq);
  const minLength = options.minLength ?? 30;
  if (!Number.isInteger(minLength) || minLength < 1) throw new Error('minLength must be a positive integer (amino acids)');
  const L = s.length;
  const orfs: Orf[] = [];
  for (const strand of ['+', '-'] as const) {
    const t = strand === '+' ? s : reverseComplement(s);
    for (const frame of [0, 1, 2] as const) {
      let startIdx = -1;
      for (let i = frame; i + 3 <= L; i += 3) {
        const codon = t.slice(i, i + 3);
        if (startIdx < 0) {
          if (codon === 'ATG') startIdx = i;
          continue;
        }
        if (CODON_TABLE[codon] === '*') {
          const protein = translate(t.slice(startIdx, i)).protein;
          if (protein.length >= minLength) {
            const a = startIdx; // 0-based on strand t, inclusive
            const b = i + 2;
            orfs.push({
              strand, frame,
              start: strand === '+' ? a + 1 : L - b,
              end: strand === '+' ? b + 1 : L - a,
              lengthNt: b - a + 1,
              protein,
            });
          }
          startIdx = -1;
        }
      }
    }
  }
  orfs.sort((x, y) => y.lengthNt - x.lengthNt || x.start - y.start);
  return { orfs, count: orfs.length };
}

// ---- ToolSpecs ----

const seqField = z.string().min(1).describe('DNA sequence: A, C, G, T, N (case-insensitive; whitespace ignored)');

export const reverseComplementTool: ToolSpec = defineTool({
  name: 'reverse_complement',
  description: 'Reverse complement of a DNA sequence (A<->T, C<->G, N->N). Output is upper case.',
  input: z.strictObject({ sequence: seqField }),
  run: ({ sequence }) => ({ reverseComplement: reverseComplement(sequence) }),
});

export const gcContentTool: ToolSpec = defineTool({
  name: 'gc_content',
  description: 'GC content of a DNA sequence as a fraction and a percent of the definite (non-N) bases.',
  input: z.strictObject({ sequence: seqField }),
  run: ({ sequence }) => gcContent(sequence),
});

export const translateDnaTool: ToolSpec = defineTool({
  name: 'translate_dna',
  description:
    'Translate DNA (coding strand) to protein with the standard genetic code (NCBI table 1). Stops are "*", ' +
    'codons with N are "X", a trailing partial codon is ignored.',
  input: z.strictObject({
    sequence: seqField,
    frame: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional().describe('Offset of the first codon (default 0)'),
    toStop: z.boolean().optional().describe('Stop at the first stop codon, excluding it (default false)'),
  }),
  run: ({ sequence, frame, toStop }) => translate(sequence, { frame, toStop }),
});

export const meltingTemperatureTool: ToolSpec = defineTool({
  name: 'melting_temperature',
  description:
    'Basic oligo Tm in °C: Wallace rule 2(A+T)+4(G+C) below 14 nt, else 64.9 + 41(G+C-16.4)/N ' +
    '(OligoCalc basic; assumes 50 mM Na+, 50 nM primer). Not salt-adjusted or nearest-neighbour.',
  input: z.strictObject({ sequence: seqField }),
  run: ({ sequence }) => meltingTemperature(sequence),
});

export const findOrfsTool: ToolSpec = defineTool({
  name: 'find_orfs',
  description:
    'Find ATG-to-stop open reading frames on both strands (standard code). Coordinates are 1-based inclusive ' +
    'on the given sequence, stop codon included; nested ATGs are not reported separately.',
  input: z.strictObject({
    sequence: seqField,
    minLength: z.number().int().min(1).max(100_000).optional().describe('Minimum protein length in amino acids, stop excluded (default 30)'),
  }),
  run: ({ sequence, minLength }) => findOrfs(sequence, { minLength }),
});

export const genomicsTools: ToolSpec[] = [reverseComplementTool, gcContentTool, translateDnaTool, meltingTemperatureTool, findOrfsTool];
