// Worker thread that runs model-written Python in Pyodide. Plain .mjs on purpose: node, tsx and
// vitest can all start it with `new Worker(url)` without a TypeScript loader inside the worker.
//
// Protocol: the host posts { code }; the worker answers with one message
//   { type: 'ready' } once after start-up, then per run
//   { type: 'result', ok, stdout, truncated?, error?, kind? }.
// The host owns every hard limit it can enforce from outside (wall time → terminate(), V8 heap →
// resourceLimits); this file adds what only the inside can do: the WASM memory cap, the output cap,
// and cutting Python off from the host JavaScript runtime.
import { Buffer } from 'node:buffer';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { loadPyodide } from 'pyodide';

const require = createRequire(import.meta.url);

const { wasmMaxBytes, maxOutputBytes } = workerData;
const deny = () => { throw new Error('sandbox: not available'); };
const port = parentPort;
const post = port.postMessage.bind(port);

// --- WASM memory cap -------------------------------------------------------------------------
// Pyodide's heap is a WebAssembly.Memory, outside V8's heap limits. Emscripten grows it only via
// JS (`wasmMemory.grow(pages)` in growMemory, which catches the throw and makes malloc return NULL),
// so refusing growth past the cap turns a memory bomb into Python's MemoryError. Patched before
// Pyodide loads, and the original `grow` is kept only in this closure.
const realGrow = WebAssembly.Memory.prototype.grow;
let memoryRefused = false;
WebAssembly.Memory.prototype.grow = function grow(pages) {
  if (this.buffer.byteLength + pages * 65536 > wasmMaxBytes) {
    memoryRefused = true;
    throw new RangeError('sandbox: WebAssembly memory limit reached');
  }
  return realGrow.call(this, pages);
};

// The host compiles pyodide.asm.wasm once and shares the compiled module with every worker
// (WebAssembly.Module crosses threads without recompiling); otherwise each single-use worker would
// spend seconds of CPU compiling 10 MB of WASM. Pyodide instantiates from the raw bytes, so
// substitute the shared module when those bytes arrive.
const { wasmModule, wasmByteLength } = workerData;
if (wasmModule) {
  const realInstantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async function instantiate(source, imports) {
    if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
      if (source.byteLength === wasmByteLength) {
        return { module: wasmModule, instance: await realInstantiate(wasmModule, imports) };
      }
    }
    return realInstantiate(source, imports);
  };
}

// `jsglobals` is what Python's `import js` sees: an empty null-prototype object, so even if the
// import guard below were bypassed, `js` has no `process`, `require`, `fetch` or constructors.
const pyodide = await loadPyodide({
  jsglobals: Object.create(null),
  env: { HOME: '/home/pyodide' },
  stdin: () => null,
  stdout: () => {},
  stderr: () => {},
});

// --- Cut the remaining bridges to the host ----------------------------------------------------
// Python can still hold JsProxy objects (e.g. the `pyodide_js` API object) if it digs them out of
// the interpreter, so everything those objects lead to must be harmless too.
// Keep private references to the stream setters before they are removed from the API object.
const setStdin = pyodide.setStdin.bind(pyodide);
const setStdout = pyodide.setStdout.bind(pyodide);
const setStderr = pyodide.setStderr.bind(pyodide);
const Module = pyodide._module;
const API = Module.API ?? pyodide._api;
for (const obj of [pyodide, API]) {
  if (!obj) continue;
  for (const name of [
    'mountNodeFS', 'mountNativeFS', 'useNodeSockFS', 'initializeNodeSockFS', 'loadPackage',
    'loadPackagesFromImports', 'loadBinaryFile', 'loadDynlib', 'install', 'packageManager',
    'package_loader', 'registerJsModule', 'setStdin', 'setStdout', 'setStderr', 'setInterruptBuffer',
  ]) {
    try { delete obj[name]; } catch { /* non-configurable: leave it */ }
  }
}
// Host filesystem and host sockets are Emscripten filesystems that Python could mount via FS.
if (Module.FS?.filesystems) {
  delete Module.FS.filesystems.NODEFS;
  delete Module.FS.filesystems.NODESOCKFS;
}
for (const name of ['NODEFS', 'asyncLoad', 'FS_preloadFile', 'FS_createPreloadedFile', 'loadDynamicLibrary',
  'loadWebAssemblyModule', '_emscripten_run_script', '_emscripten_run_script_int', '_emscripten_run_script_string']) {
  try { delete Module[name]; } catch { /* ignore */ }
}

// Emscripten's Node glue keeps its own `require` in a closure and uses it at run time: os.system()
// → child_process.spawnSync(cmd, {shell: true}) (a real host shell!), socket connect → require('ws')
// (a real WebSocket). That `require` can't be reached, but the modules it returns are per-thread
// singletons, so replacing their functions here disarms every such path for this worker only.
// Nothing below is needed after Pyodide has loaded (the stdlib lives in the in-memory FS).
const denyModule = (mod) => {
  for (const key of Object.keys(mod)) {
    // Classes (Socket, Server, Worker...) stay, so modules that subclass them still load.
    if (typeof mod[key] === 'function' && !/^[A-Z]/.test(key)) {
      try { mod[key] = deny; } catch { /* read-only export */ }
    }
  }
};
const hostModules = [
  'node:child_process', 'node:fs', 'node:net', 'node:tls', 'node:http', 'node:https', 'node:http2',
  'node:dgram', 'node:dns', 'node:vm', 'node:inspector', 'node:worker_threads', 'node:cluster',
  'node:fs/promises', 'node:dns/promises',
].map((name) => require(name)); // load all first: they require each other while initialising
for (const mod of hostModules) denyModule(mod);
require('node:net').Socket.prototype.connect = deny;
// ESM namespaces of builtins (`import('node:fs')`, as pyodide.mjs uses) pick up the patches only now.
syncBuiltinESMExports();
// `ws` is an npm package: poison its entry in the CJS cache as resolved from Pyodide's own glue.
try {
  const pyRequire = createRequire(new URL('pyodide.asm.mjs', import.meta.resolve('pyodide')));
  const wsPath = pyRequire.resolve('ws');
  pyRequire.cache[wsPath] = { id: wsPath, filename: wsPath, loaded: true, exports: deny, children: [], paths: [] };
} catch { /* ws not installed: Emscripten's socket connect fails with EHOSTUNREACH anyway */ }

// Input never reads the host's stdin: input() gets EOF.
setStdin({ error: true });

// Python side: drop the JS bridge modules from sys.modules and refuse to import them again. This is
// defence in depth (Python-level restrictions can be undone by determined code); the JS-side
// neutralisation above and below is what actually removes the capabilities.
pyodide.runPython(String.raw`
import sys, builtins, importlib.abc

_BLOCKED = frozenset({
    'js', 'pyodide_js', 'pyodide', '_pyodide', '_pyodide_core', 'micropip', 'ctypes', '_ctypes',
    'pyodide_http', 'pyodide_kernel', 'pyjs', '_emscripten_socket',
})

def _blocked(name):
    return name.partition('.')[0] in _BLOCKED

class _Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if _blocked(fullname):
            raise ModuleNotFoundError(f"No module named '{fullname}' (blocked in the sandbox)", name=fullname)
        return None

sys.meta_path.insert(0, _Guard())
for _name in list(sys.modules):
    if _blocked(_name):
        del sys.modules[_name]

_real_import = builtins.__import__
def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and _blocked(name):
        raise ModuleNotFoundError(f"No module named '{name}' (blocked in the sandbox)", name=name)
    return _real_import(name, globals, locals, fromlist, level)
builtins.__import__ = _guarded_import
del _name
# Audit hooks can never be removed again: one run must not be able to install one for the next.
sys.addaudithook = lambda hook: None

# Process spawning is disarmed on the JS side (a call would kill this interpreter); these give
# the model a readable error instead.
import os
def _no_processes(*args, **kwargs):
    raise PermissionError('process spawning is disabled in the sandbox')
for _fn in ('system', 'popen', 'execv', 'execve', 'execl', 'execle', 'execlp', 'execvp', 'execvpe',
            'spawnv', 'spawnve', 'spawnl', 'spawnle', 'posix_spawn', 'posix_spawnp', 'fork', 'forkpty'):
    if hasattr(os, _fn):
        setattr(os, _fn, _no_processes)
del _fn
`, { globals: pyodide.globals.get('dict')() });

// Reuse check. A worker is reused only if, after the run, the interpreter looks as it did at start:
// modules imported by the run are dropped (the next import re-executes them fresh), and a
// fingerprint of interpreter-wide state (builtins, sys, every baseline module's namespace and its
// classes' namespaces, the guards, cwd, environ, the in-memory filesystem) must be unchanged.
// Otherwise the host retires the worker. The primitives are bound as defaults now, so a run that
// replaces builtins cannot make the check lie (replacing them changes the builtins fingerprint).
const reuseCheck = pyodide.runPython(String.raw`
import sys, os, gc, builtins, types

def _make(sys=sys, os=os, gc=gc, builtins=builtins, ModuleType=types.ModuleType, sorted=sorted,
          id=id, str=str, tuple=tuple, isinstance=isinstance, type=type, list=list, len=len, map=map,
          getattr=getattr, getcwd=os.getcwd, walk=os.walk, stat=os.stat, join=os.path.join,
          gettrace=sys.gettrace, getprofile=sys.getprofile, meta_path=sys.meta_path,
          guard=sys.meta_path[0], guarded_import=builtins.__import__, modules=sys.modules):
    def ns(d):
        return tuple(sorted(((str(k), id(v)) for k, v in d.items() if not str(k).startswith('last_')), key=lambda kv: kv[0]))

    def fingerprint():
        fp = [ns(builtins.__dict__), ns(sys.__dict__), id(sys.modules), id(sys.meta_path)]
        fp.append((gettrace(), getprofile(), sys.getrecursionlimit(), sys.get_int_max_str_digits(),
                   tuple(map(id, sys.meta_path)), tuple(map(id, sys.path_hooks)), tuple(sys.path),
                   len(gc.callbacks), builtins.__import__ is guarded_import, meta_path[0] is guard))
        for name, mod in sorted(modules.items(), key=lambda kv: kv[0]):
            fp.append((name, id(mod)))
            if type(mod) is not ModuleType:
                continue
            d = mod.__dict__
            fp.append(ns(d))
            for v in list(d.values()):
                if isinstance(v, type) and getattr(v, '__module__', None) == name:
                    fp.append(ns(v.__dict__))
        fp.append((getcwd(), tuple(sorted(os.environ.items()))))
        for root, dirs, files in walk('/'):
            if root in ('/proc', '/dev') or root.startswith(('/proc/', '/dev/')):
                continue
            for f in sorted(files):
                st = stat(join(root, f))
                fp.append((root, f, st.st_size, st.st_mtime_ns))
            fp.append((root, tuple(sorted(dirs))))
        return fp

    baseline_modules = frozenset(modules)
    baseline = fingerprint()

    def check():
        for name in [n for n in modules if n not in baseline_modules]:
            del modules[name]
        return fingerprint() == baseline
    return check

_make()
`, { globals: pyodide.globals.get('dict')() });

// JS side: remove what Python-reachable JS could use to reach Node. Function-from-string
// constructors are the classic escape (anyFunction.constructor('return process')()), and
// `eval`/dynamic code generation would give `import('node:child_process')`.
for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
  Object.defineProperty(Object.getPrototypeOf(fn), 'constructor', { value: deny, writable: false, configurable: false });
}
for (const name of [
  'process', 'require', 'module', 'fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'eval',
  'Buffer', 'global', 'setImmediate', 'navigator', 'importScripts', 'Worker', 'SharedWorker',
  'BroadcastChannel', 'MessageChannel',
]) {
  try { delete globalThis[name]; } catch { /* ignore */ }
  if (name in globalThis) {
    try { Object.defineProperty(globalThis, name, { value: undefined, configurable: false, writable: false }); } catch { /* ignore */ }
  }
}

// --- Output cap --------------------------------------------------------------------------------
let chunks = [];
let outBytes = 0;
let overflowed = false;
let finished = false;

function takeOutput(limit) {
  const all = Buffer.concat(chunks);
  return new TextDecoder('utf-8', { fatal: false }).decode(all.subarray(0, limit));
}

function finish(message) {
  if (finished) return;
  finished = true;
  post({ type: 'result', ...message });
}

const writer = {
  isatty: false,
  write(buf) {
    if (overflowed) throw new Error('sandbox: output limit reached');
    const room = maxOutputBytes - outBytes;
    chunks.push(Uint8Array.from(buf.subarray(0, Math.max(0, Math.min(room, buf.length)))));
    outBytes += buf.length;
    if (outBytes > maxOutputBytes) {
      // Report now; the host terminates this worker on receipt, so a program that catches the
      // write error and keeps printing still stops. Later writes fail too, meanwhile.
      overflowed = true;
      finish({ ok: false, kind: 'output', error: `output exceeded ${maxOutputBytes} bytes`, stdout: takeOutput(maxOutputBytes) });
      throw new Error('sandbox: output limit reached');
    }
    return buf.length;
  },
};
setStdout(writer);
setStderr(writer);

function describe(err) {
  const message = String(err?.message ?? err);
  const type = err?.type;
  if (!type) return message;
  const lines = message.trim().split('\n');
  // The exception line can be followed by more message lines (Pyodide adds package hints).
  let at = lines.length - 1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].startsWith(`${type}:`) || lines[i] === type || lines[i].includes(`.${type}:`)) { at = i; break; }
  }
  let text = lines.slice(at).map((l) => l.trim()).filter(Boolean).join(' ');
  text = text.replace(/\s*See https:\/\/pyodide\.org\S* for more details\.?/, '');
  // Pyodide suggests micropip/loadPackage, which do not exist here; say what the model can use.
  text = text.replace(/\s*The module '[^']*' is included in the Pyodide distribution.*$/, ' (only the standard library is available)');
  if (!text.startsWith(type)) text = `${type}: ${text}`;
  // The last frame in the user's code says where it failed.
  const frames = lines.filter((l) => l.includes('File "<python>"'));
  const where = frames.length ? ` (${frames[frames.length - 1].trim().replace('File "<python>", ', '')})` : '';
  return `${text.slice(0, 1000)}${where}`;
}

function isClean() {
  try { return reuseCheck() === true; } catch { return false; }
}

const dict = pyodide.globals.get('dict');
let fatal = false;
port.on('message', ({ code }) => {
  chunks = [];
  outBytes = 0;
  overflowed = false;
  finished = false;
  memoryRefused = false;
  // A fresh globals dict per run; whether the worker may be reused is decided after the run.
  const globals = dict();
  let result;
  try {
    pyodide.runPython(code, { globals, filename: '<python>' });
    result = { ok: true, stdout: takeOutput(maxOutputBytes), truncated: false };
  } catch (err) {
    const type = err?.type;
    // No Python type: Pyodide itself failed (e.g. a disarmed host call) and is now unusable.
    if (!type) fatal = true;
    // On wasm32 an allocation too big to even size (e.g. 'a' * 10**10) is an OverflowError, not a
    // MemoryError; it is the same failure for the caller, so it is reported as 'memory'.
    const tooBig = type === 'OverflowError' && /index-sized integer|too long|too large to allocate/.test(String(err?.message));
    const kind = overflowed ? 'output' : type === 'MemoryError' || memoryRefused || tooBig ? 'memory' : 'python';
    result = { ok: false, kind, error: describe(err), stdout: takeOutput(maxOutputBytes) };
  }
  try { globals.destroy(); } catch { fatal = true; }
  const reusable = !fatal && !overflowed && (result.ok || result.kind === 'python') && isClean();
  finish({ ...result, reusable });
});

post({ type: 'ready' });
