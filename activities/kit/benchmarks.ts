import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readJsonlRows } from './files.js';
import { readJsonFile } from '../../common/json-text.js';
import { normalizeNumber } from '../../common/answers.js';
import { BENCHMARKS, type BenchmarkName } from '../../common/contracts/index.js';

export interface BenchmarkItem {
  id: string;
  /** The prompt text: for PubMedQA the contexts then the question, for mcq the question then its lettered options. */
  question: string;
  /** Numeric benchmarks: the normalised number; PubMedQA: yes/no/maybe; mcq: the letter. */
  reference: string;
  /** Closed-answer benchmarks only: what `extractChoice` may return (letters for mcq). */
  choices?: string[];
}

/** The benchmark files that ship with the project (test splits, under `datasets/`); the others are given by path. */
export function shippedBenchmarkData(name: BenchmarkName, datasetsDir: string): string | undefined {
  if (name === 'gsm8k') return join(datasetsDir, 'gsm8k', 'test.jsonl');
  if (name === 'pubmedqa') return join(datasetsDir, 'pubmedqa');
  return undefined;
}

export const PUBMEDQA_CHOICES = ['yes', 'no', 'maybe'];

const readJson = (file: string): unknown => readJsonFile(file, (f) => readFileSync(f, 'utf8'));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Loads a benchmark's items from `file` (a directory for PubMedQA is fine too). */
export function loadBenchmark(name: BenchmarkName, file: string): BenchmarkItem[] {
  switch (name) {
    case 'gsm8k':
      return loadGsm8k(file);
    case 'gsmhard':
      return loadGsmHard(file);
    case 'pubmedqa':
      return loadPubmedQa(file);
    case 'mcq':
      return loadMcq(file);
    default:
      throw new Error(`unknown benchmark "${String(name)}"; one of: ${BENCHMARKS.join(', ')}`);
  }
}

/** GSM8K has no ids: the 0-based line number is the id, stable as long as the file is. */
function loadGsm8k(file: string): BenchmarkItem[] {
  return readJsonlRows(file).map(({ line, value }) => {
    const where = `${file}:${line + 1}`;
    if (!isObject(value) || typeof value.question !== 'string') throw new Error(`${where}: no "question" string`);
    const answer = typeof value.answer === 'string' ? /####\s*(.+?)\s*$/.exec(value.answer)?.[1] : undefined;
    // "#### 1,000": the reference is normalised the same way as a prediction.
    const reference = answer === undefined ? undefined : normalizeNumber(answer);
    if (reference === undefined) throw new Error(`${where}: "answer" has no "#### <number>" line`);
    return { id: String(line), question: value.question, reference };
  });
}

/** GSM-Hard (reasoning-machines/gsm-hard): `input` is the question, `target` the (often float) answer. */
function loadGsmHard(file: string): BenchmarkItem[] {
  return readJsonlRows(file).map(({ line, value }) => {
    const where = `${file}:${line + 1}`;
    if (!isObject(value) || typeof value.input !== 'string') throw new Error(`${where}: no "input" string`);
    const t = value.target;
    const reference = typeof t === 'number' || typeof t === 'string' ? normalizeNumber(String(t)) : undefined;
    if (reference === undefined) throw new Error(`${where}: "target" is not a number`);
    return { id: String(line), question: value.input, reference };
  });
}

/**
 * PubMedQA's labelled set (PQA-L, ori_pqal.json, keyed by PMID). Given the directory or ori_pqal.json
 * itself, the items are restricted to the test split in test_ground_truth.json beside it when that
 * file exists (500 PMIDs, with its labels); any other file is taken whole, labelled by its own
 * `final_decision`. Items come in ascending PMID order (JSON.parse orders integer-like keys so, not
 * as written); scoring is by id, so order never matters. The prompt is the abstract's contexts, then the question.
 */
function loadPubmedQa(file: string): BenchmarkItem[] {
  return loadPubmedQaRecords(file).map(({ id, question, contexts, reference }) => ({
    id,
    question: [...contexts, `Question: ${question}`].join('\n\n'),
    reference,
    choices: [...PUBMEDQA_CHOICES],
  }));
}

/** PubMedQA's items as they stand in the file: the question alone (what decontamination embeds), its contexts, the label; `whole`: every labelled item, not only the test split. */
export function loadPubmedQaRecords(file: string, whole = false): { id: string; question: string; contexts: string[]; reference: string }[] {
  const isDir = statSync(file).isDirectory();
  const dir = isDir ? file : dirname(file);
  const pqal = isDir ? join(dir, 'ori_pqal.json') : file;
  const all = readJson(pqal);
  if (!isObject(all)) throw new Error(`${pqal}: expected an object keyed by PMID`);
  const truthFile = join(dir, 'test_ground_truth.json');
  const restrict = !whole && (isDir || basename(file) === 'ori_pqal.json') && existsSync(truthFile);
  let labels: [string, unknown][];
  if (restrict) {
    const truth = readJson(truthFile);
    if (!isObject(truth)) throw new Error(`${truthFile}: expected an object of PMID → yes/no/maybe`);
    labels = Object.entries(truth);
  } else {
    labels = Object.entries(all).map(([pmid, e]) => [pmid, isObject(e) ? e.final_decision : undefined]);
  }
  return labels.map(([pmid, label]) => {
    const entry = all[pmid];
    if (!isObject(entry) || typeof entry.QUESTION !== 'string') throw new Error(`${pqal}: no QUESTION for PMID ${pmid}`);
    const reference = typeof label === 'string' ? label.toLowerCase() : '';
    if (!PUBMEDQA_CHOICES.includes(reference)) throw new Error(`${restrict ? truthFile : pqal}: PMID ${pmid}: label ${JSON.stringify(label)} is not yes/no/maybe`);
    const contexts = Array.isArray(entry.CONTEXTS) ? entry.CONTEXTS.filter((c): c is string => typeof c === 'string') : [];
    return { id: pmid, question: entry.QUESTION, contexts, reference };
  });
}

/**
 * Generic multiple choice: `question`, `options` as {A: …, B: …} or an array (lettered A, B, … in
 * order), `answer` a letter ("B" or "(B)"). The id is the `id` field, else the 0-based line number.
 * The choices are the letters; the option texts go into the prompt.
 */
function loadMcq(file: string): BenchmarkItem[] {
  const seen = new Set<string>();
  return readJsonlRows(file).map(({ line, value }) => {
    const where = `${file}:${line + 1}`;
    if (!isObject(value) || typeof value.question !== 'string') throw new Error(`${where}: no "question" string`);
    const options = mcqOptions(value.options, where);
    const choices = options.map(([letter]) => letter);
    const answer = typeof value.answer === 'string' ? /^\(?([A-Za-z])\)?\.?$/.exec(value.answer.trim())?.[1]?.toUpperCase() : undefined;
    if (answer === undefined || !choices.includes(answer)) throw new Error(`${where}: "answer" must be one of the option letters ${choices.join(', ')}`);
    const id = typeof value.id === 'string' || typeof value.id === 'number' ? String(value.id) : String(line);
    if (seen.has(id)) throw new Error(`${where}: duplicate id "${id}"`);
    seen.add(id);
    const question = [value.question, ...options.map(([letter, text]) => `${letter}. ${text}`)].join('\n');
    return { id, question, reference: answer, choices };
  });
}

function mcqOptions(raw: unknown, where: string): [string, string][] {
  let options: [string, unknown][];
  if (Array.isArray(raw)) options = raw.map((text, i) => [String.fromCharCode(65 + i), text]);
  else if (isObject(raw)) options = Object.entries(raw).map(([k, text]) => [k.trim().toUpperCase(), text]);
  else throw new Error(`${where}: "options" must be an object {A: …} or an array`);
  if (options.length < 2 || options.length > 26) throw new Error(`${where}: "options" needs 2 to 26 entries`);
  if (new Set(options.map(([l]) => l)).size !== options.length) throw new Error(`${where}: "options" repeats a letter`);
  for (const [letter, text] of options) {
    if (!/^[A-Z]$/.test(letter)) throw new Error(`${where}: option key "${letter}" is not a single letter`);
    if (typeof text !== 'string') throw new Error(`${where}: option ${letter} is not a string`);
  }
  return options as [string, string][];
}
