// The layering as a rule inside `npm test`: import order and circles (.dependency-cruiser.cjs), the
// lint (eslint.config.js: file and function size, workflow imports), and the shape of activities/.
import { ESLint } from 'eslint';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAYERS = ['activities', 'common', 'workflows', 'workers', 'scripts', 'bench', 'tests'];
/** Where the 400-line limit holds for every source file (test files are held to it by the lint). */
const SOURCE_DIRS = ['activities', 'common', 'workflows', 'workers', 'scripts', 'bench', 'tests/support'];
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const MAX_FILE_LINES = 400;

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE_FILE.test(e.name) ? [path] : [];
  });
}

function describeViolation(v: Violation): string {
  const path = v.cycle ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

interface Cruise {
  modules: { source: string; dependencies: { resolved: string }[] }[];
  summary: { violations: Violation[] };
}

/** dependency-cruiser with this repository's rules, on `dirs` under `cwd`. */
function cruise(cwd: string, dirs: string[]): Cruise {
  const bin = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, ...dirs, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  expect(r.stderr.trim(), 'dependency-cruiser failed to run').toBe('');
  return JSON.parse(r.stdout) as Cruise;
}

describe('layering', () => {
  it('imports follow the layers and run in no circle (.dependency-cruiser.cjs)', () => {
    const { modules, summary } = cruise(ROOT, LAYERS);
    // The './x.js' → './x.ts' resolution works: otherwise no import is seen and no rule can fail.
    const options = modules.find((m) => m.source === 'workflows/options.ts');
    expect(options?.dependencies.map((d) => d.resolved)).toContain('activities/index.ts');
    expect(summary.violations.map(describeViolation)).toEqual([]);
  }, 120_000);

  it('the rules catch a type-only circle, a group importing upwards, a value import of activities in workflows, common importing a layer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nf-layering-'));
    try {
      for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) copyFileSync(join(ROOT, f), join(dir, f));
      const probe: Record<string, string> = {
        'activities/kit/a.ts': "import { g } from '../game/a.js';\nexport const k = g;\n",
        'activities/game/a.ts': 'export const g = 1;\n',
        'activities/index.ts': "export { g } from './game/a.js';\nexport type G = number;\n",
        'workflows/options.ts': "import type { G } from '../activities/index.js';\nexport type O = G;\n",
        'workflows/a.ts': "import type { B } from './b.js';\nimport { g } from '../activities/index.js';\nexport type A = B;\nexport const v = g;\n",
        'workflows/b.ts': "import type { A } from './a.js';\nexport type B = A | number;\n",
        'common/a.ts': "import type { O } from '../workflows/options.js';\nexport type C = O;\n",
      };
      for (const [path, text] of Object.entries(probe)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      // workflows/options.ts's type-only import of activities/index.ts is the one allowed: not in the list.
      const found = cruise(dir, ['activities', 'workflows', 'common']).summary.violations.map(describeViolation).sort();
      expect(found).toEqual([
        'activities-kit-order: activities/kit/a.ts → activities/game/a.ts',
        'common-imports-no-layer-above: common/a.ts → workflows/options.ts',
        'no-circular: workflows/a.ts → workflows/b.ts → workflows/a.ts',
        'workflows-not-to-activities: workflows/a.ts → activities/index.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('lints clean (eslint.config.js: every file, its size rules included)', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const results = await eslint.lintFiles(['.']);
    const messages = results.flatMap((r) => r.messages.map((m) => `${relative(ROOT, r.filePath)}:${m.line} ${m.ruleId ?? ''} ${m.message}`));
    expect(messages).toEqual([]);
  }, 180_000);

  it('the activities/ root holds only index.ts and deps.ts, every activity in a group folder', () => {
    const rootFiles = readdirSync(join(ROOT, 'activities')).filter((name) => statSync(join(ROOT, 'activities', name)).isFile());
    expect(rootFiles.sort()).toEqual(['deps.ts', 'index.ts']);
  });

  it(`no source file is over ${MAX_FILE_LINES} lines`, () => {
    const long = SOURCE_DIRS.flatMap(sourceFiles)
      .map((path) => ({ path, lines: readFileSync(join(ROOT, path), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.path}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});
