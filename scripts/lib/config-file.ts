import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument, visit } from 'yaml';
import { describeProblems, parseRunConfig, type RunConfig } from '../../common/config.js';
import { parseJsonText } from '../../common/json-text.js';
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
    return parseJsonText(text, path);
  } catch (e) {
    const m = /:(\d+):(\d+): invalid JSON: (.*)$/.exec((e as Error).message);
    throw new UserError(`config ${path} is not valid JSON${m ? ` (line ${m[1]}, column ${m[2]}): ${m[3]}` : ''}; fix the file`);
  }
}

function parseYaml(path: string, text: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter });
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0];
    const where = at ? ` (line ${at.line}, column ${at.col})` : '';
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw new UserError(`config ${path} is not valid YAML${where}: ${what}${more}; fix the file`);
  }
  // An alias to no anchor (`*nope`) only fails in toJS, without a position: find it first.
  let unresolved: { name: string; offset: number } | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (!unresolved && node.resolve(doc) === undefined) unresolved = { name: node.source, offset: node.range?.[0] ?? 0 };
    },
  });
  if (unresolved) {
    const at = lineCounter.linePos(unresolved.offset);
    throw new UserError(`config ${path} is not valid YAML (line ${at.line}, column ${at.col}): alias *${unresolved.name} names no anchor; fix the file`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new UserError(`config ${path} is not valid YAML: ${(e as Error).message}; fix the file`);
  }
}


