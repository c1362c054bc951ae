import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { describeProblems, parseRunConfig, type RunConfig } from '../../common/config.js';
import { UserError } from './errors.js';

/**
 * Reads a run config file: `.json`, or `.yaml`/`.yml` (YAML 1.2, so `yes` stays a string and
 * duplicate keys are refused); any other name is read as JSON when it starts with `{`, else as YAML.
 * Syntax errors name the line and column; schema problems are listed by field path, every one.
 */
export function loadRunConfig(path: string): RunConfig & { raw: unknown } {
  const raw = readConfigFile(path);
  return { ...validateRunConfig(raw, path), raw };
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`cannot read config ${path}: ${code}; check the path (a run config is a .json, .yaml or .yml file)`);
  }
  const ext = extname(path).toLowerCase();
  const yaml = ext === '.yaml' || ext === '.yml' || (ext !== '.json' && !text.trimStart().startsWith('{'));
  return yaml ? parseYaml(path, text) : parseJson(path, text);
}

export function validateRunConfig(raw: unknown, path: string): RunConfig {
  const r = parseRunConfig(raw);
  if (!r.ok) {
    // The header line says what to do; one line per problem follows, each with its field path.
    const [head, ...rest] = describeProblems(r.problems).split('\n');
    throw new UserError([`${path}: ${head?.replace(/:$/, '')}; fix these fields and check with \`nanoflux validate --config ${path}\`:`, ...rest].join('\n'));
  }
  return r.config;
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /at position (\d+)/.exec(msg);
    const where = pos ? ` (${lineColumn(text, Number(pos[1]))})` : '';
    throw new UserError(`config ${path} is not valid JSON${where}: ${msg.replace(/ in JSON at position \d+.*$/, '')}; fix the file`);
  }
}

function parseYaml(path: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0];
    const where = at ? ` (line ${at.line}, column ${at.col})` : '';
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw new UserError(`config ${path} is not valid YAML${where}: ${what}${more}; fix the file`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new UserError(`config ${path} is not valid YAML: ${(e as Error).message}; fix the file`);
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
