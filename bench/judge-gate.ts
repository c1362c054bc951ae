/**
 * The verified gate against a Judge that says yes to everything — `npm run bench:judge -- [--fixture
 * tests/fixtures/judge-gate/episodes.jsonl] [--out bench/results/judge-gate.json]`.
 *
 * Every labelled episode of the fixture goes through the gate of a gated episode
 * (tests/support/judge-gate.ts: junk guards with the real prompt overlap, the domain pack's
 * `verify` in the real Pyodide sandbox, `referenceGate`, `decideVerified`), the Judge's verdict
 * always "valid, reference correct, Defender wrong". The baseline, same run, same episodes: that
 * Judge alone (`decide`, no deterministic check), which accepts everything. What the gate rejects
 * is therefore the deterministic checks' doing alone.
 *
 * It reports; it does not fail: exit 0 whether or not the targets are met (the unit test
 * tests/unit/judge-gate-fixture.test.ts is the one that fails).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { closePythonSandbox } from '../activities/game/judge/python-sandbox.js';
import { FIXTURE_PATH } from '../tests/fixtures/judge-gate/generate.js';
import { byLabel, type GateResult, headline, LABELS, loadEpisodes, type Rate, runGate, TARGETS } from '../tests/support/judge-gate.js';
import { arg } from './lib/args.js';

const fixturePath = arg('fixture', FIXTURE_PATH);
const outPath = arg('out', join(import.meta.dirname, 'results', 'judge-gate.json'));

const pct = (r: Rate) => `${(r.rate * 100).toFixed(1)}% (${r.hits}/${r.of}; 95% CI ${(r.ci95.low * 100).toFixed(0)}–${(r.ci95.high * 100).toFixed(0)}%)`;

function printTable(title: string, rows: ReturnType<typeof byLabel>): void {
  console.log(`\n${title}`);
  console.log('| label | episodes | accepted | rejected | by outcome |');
  console.log('|---|---|---|---|---|');
  for (const label of LABELS) {
    const r = rows[label];
    const outcomes = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ');
    console.log(`| ${label} | ${r.n} | ${r.accepted} | ${r.rejected} | ${outcomes} |`);
  }
}

function printSlips(results: GateResult[]): void {
  const slips = results.filter((r) => !r.right);
  console.log(`\nwhere the gate got it wrong: ${slips.length === 0 ? 'nowhere' : `${slips.length} episode(s)`}`);
  for (const s of slips) console.log(`  ${s.id} (${s.label}, ${s.pack}, ${s.variant}): ${s.outcome} at the ${s.stage} — ${s.detail}`);
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const episodes = loadEpisodes(fixturePath);
  const started = Date.now();
  const results: GateResult[] = [];
  try {
    // One at a time: the sandbox runs one program per worker, and the order keeps the log readable.
    for (const e of episodes) results.push(await runGate(e));
  } finally {
    await closePythonSandbox();
  }
  const durationMs = Date.now() - started;

  const gate = headline(results);
  const judgeAlone = headline(results.map((r) => ({ label: r.label, outcome: r.judgeAlone })));
  const gateRows = byLabel(results);
  printTable('gate (deterministic checks + yes-Judge), per label:', gateRows);
  printTable('baseline (the yes-Judge alone), per label:', byLabel(results, (r) => r.judgeAlone));
  printSlips(results);

  console.log(`\n${episodes.length} episodes from ${relative(process.cwd(), fixturePath)} in ${(durationMs / 1000).toFixed(1)} s`);
  const targets = TARGETS.map((t) => ({ ...t, measured: gate[t.key].rate, judgeAlone: judgeAlone[t.key].rate, met: gate[t.key].rate >= t.min }));
  for (const t of targets) {
    console.log(`${t.met ? 'met    ' : 'NOT MET'}  ${t.what}: ${pct(gate[t.key])}, target ≥ ${t.min * 100}%; yes-Judge alone ${pct(judgeAlone[t.key])}`);
  }
  const failed = targets.filter((t) => !t.met);
  if (failed.length > 0) console.log(`\ntarget(s) not met: ${failed.map((t) => t.key).join(', ')} (see the episodes listed above)`);

  mkdirSync(dirname(outPath), { recursive: true });
  const report = {
    benchmark: 'judge-gate',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    options: { fixture: relative(process.cwd(), fixturePath), judge: 'yes to everything: questionValid, referenceCorrect true; defenderCorrect false' },
    durationMs,
    headline: { gate, judgeAlone },
    targets: targets.map(({ key, what, min, measured, judgeAlone: alone, met }) => ({ key, what, min, measured, judgeAlone: alone, met })),
    byLabel: { gate: gateRows, judgeAlone: byLabel(results, (r) => r.judgeAlone) },
    slips: results.filter((r) => !r.right),
    episodes: results,
  };
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${relative(process.cwd(), outPath)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
