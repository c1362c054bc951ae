/**
 * The evaluation harness's answer scorers: pure functions that turn a model's free-text reply into
 * the one answer it committed to. Base and tuned models are scored by exactly these rules, so a
 * change here moves both numbers; keep the rules simple, documented and tested.
 */

/**
 * One number as written in prose: optional sign (before or after a currency symbol), digits with
 * optional thousands commas (groups of exactly three, so "1,2,3" stays three numbers), optional
 * decimals, an optional `/denominator` (no spaces, so "12 / 4" is not a fraction) and an optional `%`.
 * The look-behind keeps "16-3" from reading as 16 and -3, and "x2"/"1.2.3" from yielding stray numbers.
 */
const NUMBER = /(?<![\w.])(?:(-)\s?)?[$€£]?(-)?(\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:\/(\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?))?(%)?/g;

/** A plain decimal (after commas, currency and `%` are gone), optionally in exponent form. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * Canonical form of one numeric token: commas, currency, spaces and `%` dropped ("12.5%" → "12.5",
 * as GSM8K writes percentages as bare numbers), fractions divided ("3/4" → "0.75"), leading and
 * trailing zeros trimmed ("018.50" → "18.5", "18.00" → "18", "-0" → "0"). Decimals are trimmed as
 * strings, not through floats, so long integers keep every digit. Undefined when it is not a number.
 */
export function normalizeNumber(raw: string): string | undefined {
  const clean = raw.trim().replace(/[,\s$€£%]/g, '').replace(/^\+/, '');
  const frac = /^(-?)(-?[\d.]+)\/([\d.]+)$/.exec(clean);
  if (frac) {
    const num = Number(frac[2]);
    const den = Number(frac[3]);
    if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0) return undefined;
    return formatNumber((frac[1] === '-' ? -1 : 1) * (num / den));
  }
  if (!DECIMAL.test(clean)) return undefined;
  if (/e/i.test(clean)) return formatNumber(Number(clean));
  const negative = clean.startsWith('-');
  let [int = '', dec = ''] = clean.replace(/^[+-]/, '').split('.');
  int = int.replace(/^0+(?=\d)/, '') || '0';
  dec = dec.replace(/0+$/, '');
  const body = dec ? `${int}.${dec}` : int;
  return negative && body !== '0' ? `-${body}` : body;
}

function formatNumber(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  return Object.is(n, -0) ? '0' : String(n);
}

/** Every number in `text`, in order, already normalised. */
function numbersIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const sign = m[1] ?? m[2] ?? '';
    const token = m[4] !== undefined ? `${m[3]}/${m[4]}` : m[3]!;
    const n = normalizeNumber(sign + token);
    if (n !== undefined) out.push(n);
  }
  return out;
}

/** LaTeX spellings that would otherwise hide a number: `\frac{3}{4}`, `\$`, `\%`, `1{,}234`. */
function unLatex(text: string): string {
  return text
    .replace(/\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}/g, '$1/$2')
    .replace(/\\([$%])/g, '$1')
    .replace(/\{,\}/g, ',');
}

/** `\boxed{…}` contents, allowing one level of nested braces (`\boxed{18 \text{ dollars}}`). */
const BOXED = /\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}/g;
/** "The answer is", "Final answer:", "Answer =": a model's own statement of its result. */
const ANSWER_MARKER = /answer\s*(?:is\b|:|=)/gi;

function lastMatch(text: string, re: RegExp): RegExpMatchArray | undefined {
  let last: RegExpMatchArray | undefined;
  for (const m of text.matchAll(re)) last = m;
  return last;
}

/**
 * The numeric answer a reply commits to, normalised (see `normalizeNumber`). When several numbers
 * appear the first rule that yields one wins:
 *   1. the first number after the last `####` (GSM8K's own answer line);
 *   2. the last number inside the last `\boxed{}` (the box may hold a working: `2 \times 9 = 18`);
 *   3. the first number after the last "answer is" / "answer:" / "answer =" (markers precede the answer);
 *   4. otherwise the last number in the text (chain-of-thought ends with its result).
 * A marker with no number after it falls through to the next rule rather than failing.
 */
export function extractNumericAnswer(text: string): string | undefined {
  const t = unLatex(text);
  const hashes = t.lastIndexOf('####');
  if (hashes >= 0) {
    const n = numbersIn(t.slice(hashes + 4))[0];
    if (n !== undefined) return n;
  }
  const boxed = lastMatch(t, BOXED);
  if (boxed) {
    const n = numbersIn(boxed[1]!).at(-1);
    if (n !== undefined) return n;
  }
  const marker = lastMatch(t, ANSWER_MARKER);
  if (marker) {
    const n = numbersIn(t.slice(marker.index! + marker[0].length))[0];
    if (n !== undefined) return n;
  }
  return numbersIn(t).at(-1);
}

/**
 * Whether two numeric strings (in any form `normalizeNumber` accepts: "$1,234.50", "3/4", "12%",
 * "1e3") are the same number: |a − b| ≤ max(tol · max(|a|, |b|), tol), i.e. relative tolerance
 * for large values and absolute tolerance near zero (so 0 equals 1e-9). Float targets such as
 * GSM-Hard's 1.6666666666666667 then match a model's "1.666667". Unparseable input is never equal.
 */
export function numericEqual(a: string, b: string, tol = 1e-6): boolean {
  const na = normalizeNumber(a);
  const nb = normalizeNumber(b);
  if (na === undefined || nb === undefined) return false;
  const x = Number(na);
  const y = Number(nb);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= Math.max(tol * Math.max(Math.abs(x), Math.abs(y)), tol);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The choice a reply commits to, returned as spelled in `choices`; undefined when it commits to none.
 *
 * Single-letter choices (multiple choice, e.g. A–E) are matched case-sensitively, because "a" is an
 * article; the first rule that finds a letter from `choices` wins:
 *   1. the last explicit answer: "Answer: B", "the answer is (B)", `\boxed{B}`;
 *   2. the whole reply is the letter, however wrapped: "B", "(B)", "B.", "**B**";
 *   3. the reply starts with a labelled letter: "B. Because…", "(B) Because…", "B) …";
 *   4. the last parenthesised letter anywhere: "(A) is wrong, so (C)" → C.
 * A capital letter alone inside prose ("A patient…") is never taken as an answer.
 *
 * Word choices (PubMedQA's yes/no/maybe) are matched case-insensitively on word boundaries:
 *   1. the last explicit answer: "Answer: yes", "the answer is **no**", `\boxed{maybe}`;
 *   2. the reply's first word, when it is a choice ("No. The trial found…"): a direct answer comes
 *      first and its explanation freely uses the other words ("Yes, there is no evidence of harm");
 *   3. otherwise the LAST choice word mentioned, since reasoning ends with its conclusion.
 * Rule 3 is a guess on an ambiguous reply ("yes … no"); it is deterministic, so base and tuned
 * models are held to the same guess.
 */
export function extractChoice(text: string, choices: string[]): string | undefined {
  if (choices.length === 0) return undefined;
  // Markdown emphasis ("**Answer:** B") sits between the marker and the answer.
  const t = text.replace(/\*+/g, '');
  return choices.every((c) => /^[A-Za-z]$/.test(c)) ? extractLetter(t, choices) : extractWord(t, choices);
}

function extractLetter(t: string, choices: string[]): string | undefined {
  const set = choices.map((c) => c.toUpperCase());
  const L = `[${set.join('')}]`;
  const pick = (m: RegExpMatchArray | undefined | null) => {
    const letter = m?.[1];
    return letter === undefined ? undefined : choices[set.indexOf(letter)];
  };
  const explicit = lastMatch(t, new RegExp(`(?:[Aa]nswer|ANSWER)(?:\\s+is)?\\s*[:=]?\\s*\\(?(${L})\\)?(?![A-Za-z])|\\\\boxed\\{\\s*\\(?(${L})\\)?\\s*\\}`, 'g'));
  if (explicit) return choices[set.indexOf((explicit[1] ?? explicit[2])!)];
  return (
    pick(new RegExp(`^\\W*(${L})\\W*$`).exec(t.trim())) ??
    pick(new RegExp(`^\\s*\\(?(${L})[).:](?:\\s|$)`).exec(t)) ??
    pick(lastMatch(t, new RegExp(`\\((${L})\\)`, 'g')))
  );
}

function extractWord(t: string, choices: string[]): string | undefined {
  const alt = choices.map(escape).join('|');
  const byLower = (w: string | undefined) => (w === undefined ? undefined : choices.find((c) => c.toLowerCase() === w.toLowerCase()));
  const explicit = lastMatch(t, new RegExp(`answer(?:\\s+is)?\\s*[:=]?\\s*["'(]?\\b(${alt})\\b|\\\\boxed\\{\\s*(?:\\\\text\\{)?\\s*(${alt})\\b`, 'gi'));
  if (explicit) return byLower(explicit[1] ?? explicit[2]);
  const first = new RegExp(`^\\W*(${alt})\\b`, 'i').exec(t);
  if (first) return byLower(first[1]);
  return byLower(lastMatch(t, new RegExp(`\\b(${alt})\\b`, 'gi'))?.[1]);
}
