/**
 * JSON text to a value, with errors that say where: `file:line:column: reason`, one line. Node 20's
 * JSON.parse sometimes gives an offset, sometimes quotes a snippet of the file instead, and says
 * nothing useful at the end of a truncated file; a small scanner finds the offset itself.
 */
export function parseJsonText(text: string, where: string): unknown {
  const body = text.replace(/^\uFEFF/, ''); // a byte-order mark from Windows editors is not an error
  try {
    return JSON.parse(body);
  } catch (e) {
    const offset = firstSyntaxError(body);
    const reason = offset >= body.length ? 'unexpected end of the file' : `unexpected ${describe(body[offset]!)}`;
    void e; // its message is replaced: it may quote the file or lack a position
    throw new Error(`${where}:${lineColumn(body, Math.min(offset, body.length))}: invalid JSON: ${reason}`);
  }
}

export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const describe = (c: string) => (/\s/.test(c) ? 'whitespace' : `character ${JSON.stringify(c)}`);

/** Offset of the first syntax error in `s` (s.length when it ends too early). */
export function firstSyntaxError(s: string): number {
  let i = 0;
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  const fail = (at: number): never => {
    throw at;
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === undefined) fail(i);
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') return void i++;
      for (;;) {
        ws();
        if (s[i] !== '"') fail(i);
        string();
        ws();
        if (s[i] !== ':') fail(i);
        i++;
        value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === '}') return void i++;
        else fail(i);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === ']') return void i++;
        else fail(i);
      }
    }
    if (c === '"') return string();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|^true|^false|^null/.exec(s.slice(i, i + 400));
    if (!m) fail(i);
    i += m![0].length;
  };
  const string = () => {
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') i++;
      else if (s.charCodeAt(i) < 0x20) fail(i);
      i++;
    }
    if (i >= s.length) fail(s.length);
    i++;
  };
  try {
    value();
    ws();
    return i < s.length ? i : -1;
  } catch (at) {
    return at as number;
  }
}

/** A JSON file's value; a syntax error names `file:line:column`. Workers and scripts only (reads the disk). */
export function readJsonFile(file: string, read: (f: string) => string): unknown {
  return parseJsonText(read(file), file);
}
