import { existsSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { closePythonSandbox, pythonTool, runPython, type PythonResult } from '../../activities/game/judge/python-sandbox.js';

afterAll(async () => {
  await closePythonSandbox();
});

function failure(r: PythonResult) {
  if (r.ok) throw new Error(`expected a failure, got stdout ${JSON.stringify(r.stdout.slice(0, 200))}`);
  return r;
}

/** The sandbox still answers normally: nothing a hostile run did carried over. */
async function expectHealthy() {
  const r = await runPython('print(6*7)');
  expect(r).toMatchObject({ ok: true, stdout: '42\n' });
  expect(process.exitCode ?? 0).toBe(0);
}

describe('runPython: ordinary programs', () => {
  it.each([
    ['print(2**100)', '1267650600228229401496703205376\n'],
    ['from fractions import Fraction as F\nprint(F(1, 3) + F(1, 6))', '1/2\n'],
    ['import statistics\nprint(statistics.mean([1, 2, 3, 4]))', '2.5\n'],
    ['from decimal import Decimal\nprint(Decimal("0.1") + Decimal("0.2"))', '0.3\n'],
    // An equation check the judge might write: is x = 3 a root of x^2 - 5x + 6?
    ['x = 3\nprint(x**2 - 5*x + 6 == 0)', 'True\n'],
  ])('%s', async (code, stdout) => {
    const r = await runPython(code);
    expect(r).toMatchObject({ ok: true, stdout, truncated: false });
  });

  it.each(['import sympy', 'import numpy', 'import requests'])('%s → ModuleNotFoundError', async (code) => {
    const r = failure(await runPython(code));
    expect(r.kind).toBe('python');
    expect(r.error).toMatch(/^ModuleNotFoundError: No module named/);
  });

  it('reports the exception type, message and line, with what was printed before', async () => {
    const r = failure(await runPython('print("before")\nx = 1\ny = x / 0'));
    expect(r).toMatchObject({ kind: 'python', stdout: 'before\n' });
    expect(r.error).toMatch(/^ZeroDivisionError: division by zero \(line 3/);
  });

  it('does not let a successful run leave state for the next (builtins, modules, files)', async () => {
    expect((await runPython('import builtins\nbuiltins.print = len')).ok).toBe(true);
    await expectHealthy();
    expect((await runPython('import fractions\nfractions.Fraction.__add__ = lambda a, b: 0')).ok).toBe(true);
    expect(await runPython('from fractions import Fraction as F\nprint(F(1, 2) + F(1, 2))')).toMatchObject({ ok: true, stdout: '1\n' });
    expect((await runPython("open('/tmp/note', 'w').write('x')")).ok).toBe(true);
    expect(failure(await runPython("print(open('/tmp/note').read())")).error).toMatch(/^FileNotFoundError/);
  });

  it('does not share globals between calls', async () => {
    await runPython('secret = 1');
    const r = failure(await runPython('print(secret)'));
    expect(r.error).toMatch(/^NameError/);
  });
});

describe('runPython: containment', () => {
  it('sees only the in-memory filesystem, not the host', async () => {
    for (const path of ['/etc/passwd', '/work/main/package.json', `${process.cwd()}/package.json`]) {
      const r = failure(await runPython(`open(${JSON.stringify(path)}).read()`));
      expect(r).toMatchObject({ kind: 'python' });
      expect(r.error).toMatch(/^FileNotFoundError/);
    }
    const r = await runPython('import os\nprint(sorted(os.listdir("/")))');
    expect(r.ok).toBe(true);
    const entries = JSON.parse((r.ok ? r.stdout : '').replaceAll("'", '"')) as string[];
    for (const hostDir of ['etc', 'work', 'usr', 'root', 'var', 'bin']) expect(entries).not.toContain(hostDir);
  });

  it('has no network', async () => {
    const sock = failure(await runPython("import socket\nsocket.create_connection(('127.0.0.1', 80), timeout=2)"));
    expect(sock.kind).toBe('python');
    expect(sock.error).toMatch(/Error/);
    const http = failure(await runPython("import urllib.request\nurllib.request.urlopen('http://127.0.0.1', timeout=2)"));
    expect(http.kind).toBe('python');
    expect(http.error).toMatch(/URLError|OSError/);
  });

  it('cannot spawn processes (os.system would reach a real host shell in stock Pyodide)', async () => {
    const marker = `/tmp/nanoflux-sandbox-pwned-${process.pid}`;
    rmSync(marker, { force: true });
    const sys = failure(await runPython(`import os\nprint(os.system('touch ${marker}'))`));
    expect(sys.kind).toBe('python');
    const sub = failure(await runPython(`import subprocess\nsubprocess.run(['touch', '${marker}'])`));
    expect(sub.kind).toBe('python');
    expect(sub.error).toMatch(/OSError|PermissionError/);
    // Bypassing the Python-level stub still cannot spawn: the JS side is disarmed.
    const raw = failure(await runPython(`import os, posix\nposix.system('touch ${marker}')`));
    expect(raw.kind).toBe('python');
    expect(existsSync(marker)).toBe(false);
    await expectHealthy();
  });

  it.each([
    'import js',
    'import pyodide_js',
    'from pyodide.code import run_js',
    'import pyodide.ffi',
    '__import__("js")',
    'import importlib\nimportlib.import_module("js")',
    'import ctypes',
    'import micropip',
  ])('refuses the JS bridge: %s', async (code) => {
    const r = failure(await runPython(code));
    expect(r.kind).toBe('python');
    expect(r.error).toMatch(/^ModuleNotFoundError/);
  });

  it('keeps js out of sys.modules', async () => {
    const r = await runPython("import sys\nprint(sys.modules.get('js'), sys.modules.get('pyodide_js'), sys.modules.get('pyodide'))");
    expect(r).toMatchObject({ ok: true, stdout: 'None None None\n' });
  });

  it('gives nothing to code that tears the Python guard down', async () => {
    // Undo the import guard (possible: it is plain Python), then try every route back to Node.
    const code = `
import sys, builtins, importlib
builtins.__import__ = builtins.__import__.__globals__['_real_import']
sys.meta_path.pop(0)
js = importlib.import_module('js')
pj = importlib.import_module('pyodide_js')
def probe(label, f):
    try:
        print(label, 'REACHED', repr(f())[:80])
    except BaseException as e:
        print(label, 'blocked', type(e).__name__)
probe('js.process', lambda: js.process.exit(1))
probe('js.require', lambda: js.require('child_process'))
probe('js.fetch', lambda: js.fetch('http://127.0.0.1'))
probe('Function', lambda: pj.constructor.constructor('return process')().exit(1))
probe('async Function', lambda: pj.runPythonAsync.constructor('return process')())
probe('mountNodeFS', lambda: pj.mountNodeFS('/host', '/'))
probe('NODEFS', lambda: pj.FS.mount(pj._module.NODEFS, {'root': '/'}, '/tmp'))
probe('NODEFS2', lambda: pj.FS.mount(pj.FS.filesystems.NODEFS, {'root': '/'}, '/tmp'))
probe('useNodeSockFS', lambda: pj.useNodeSockFS())
probe('loadPackage', lambda: pj.loadPackage('micropip'))
from pyodide.code import run_js
probe('run_js', lambda: run_js('process.exit(1)'))
probe('run_script', lambda: pj._module._emscripten_run_script(0))
`;
    // The run itself may end in an error (the interpreter was tampered with); what it printed counts.
    const r = await runPython(code);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(12);
    for (const line of lines) expect(line).toMatch(/ blocked /);
    await expectHealthy();
  });

  it('stops an infinite loop at the wall-time limit', async () => {
    const t0 = Date.now();
    const r = failure(await runPython('while True: pass', { wallTimeMs: 1500 }));
    expect(r.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1500 + 3000); // + worker start-up if no spare was ready
    await expectHealthy();
  });

  it.each([
    ["x = 'a' * (10**10)"],
    ["x = 'a' * (10**9)"],
    ['l = []\nwhile True: l.append(" " * 10**6)'],
  ])('stops a memory bomb: %s', async (code) => {
    const r = failure(await runPython(code, { wallTimeMs: 10_000 }));
    expect(r.kind).toBe('memory');
    expect(r.durationMs).toBeLessThan(10_000);
  });

  it('survives os._exit and sys.exit', async () => {
    expect(failure(await runPython('import os\nos._exit(1)')).kind).toBe('python');
    expect(failure(await runPython('import sys\nsys.exit(1)')).error).toMatch(/SystemExit/);
    await expectHealthy();
  });

  it('caps output: one huge print', async () => {
    const r = failure(await runPython("print('x' * 100_000_000)", { maxOutputBytes: 1000 }));
    expect(r.kind).toBe('output');
    expect(r.stdout).toBe('x'.repeat(1000));
  });

  it('caps output: printing forever, even when the write error is swallowed', async () => {
    const r = failure(await runPython('while True:\n    try:\n        print("spam")\n    except BaseException:\n        pass', { maxOutputBytes: 64 * 1024 }));
    expect(r.kind).toBe('output');
    expect(Buffer.byteLength(r.stdout)).toBe(64 * 1024);
    expect(r.stdout.startsWith('spam\nspam\n')).toBe(true);
    await expectHealthy();
  });

  it('refuses over-long code without starting Python', async () => {
    const r = failure(await runPython(`# ${'x'.repeat(200)}\nprint(1)`, { maxCodeBytes: 100 }));
    expect(r).toMatchObject({ kind: 'refused', durationMs: 0 });
    expect(failure(await runPython('x'.repeat(101 * 1024))).kind).toBe('refused');
  });

  it('answers input() with EOF instead of reading the host stdin', async () => {
    const r = failure(await runPython('input()'));
    expect(r.error).toMatch(/EOFError|OSError/);
  });
});

describe('pythonTool', () => {
  it('returns what the program printed', async () => {
    expect(JSON.parse(await pythonTool.run({ code: 'print(6*7)' }))).toEqual({ stdout: '42\n', truncated: false });
  });

  it('returns errors as JSON and never throws', async () => {
    expect(JSON.parse(await pythonTool.run({}))).toMatchObject({ error: expect.stringMatching(/code/) });
    expect(JSON.parse(await pythonTool.run(null))).toMatchObject({ error: expect.any(String) });
    expect(JSON.parse(await pythonTool.run({ code: 42 }))).toMatchObject({ error: expect.any(String) });
    expect(JSON.parse(await pythonTool.run({ code: '1/0' }))).toMatchObject({ kind: 'python', error: expect.stringMatching(/^ZeroDivisionError/) });
  });
});
