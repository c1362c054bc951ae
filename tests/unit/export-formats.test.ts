import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpisodeSummary, Outcome, TrainingExample } from '../../common/contracts/index.js';
import { datasetCard } from '../../activities/dataset/card.js';
import type { Embedder } from '../../activities/store/embeddings/embedder.js';
import { EXPORT_FORMATS, formatExample, toOpenAIChat } from '../../activities/dataset/formats.js';
import { type EpisodeRecord, Ledger } from '../../activities/store/ledger.js';
import { createDatasetActivities } from '../../activities/dataset/activities.js';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { reportCalibration } from '../support/report-episodes.js';

function example(over: Partial<TrainingExample> & { episode?: number; runId?: string } = {}): TrainingExample {
  const { episode = 3, runId = 'demo', ...rest } = over;
  return {
    id: `${runId}/math/ep-${episode}`,
    question: 'A tank holds 120 L and drains 15% per hour. How much is left after 2 hours?',
    // The second step is already numbered by the Attacker: it must be renumbered, not doubled.
    solutionSteps: ['After 1 hour: 120 × 0.85 = 102 L.', '2) After 2 hours: 102 × 0.85 = 86.7 L.'],
    answer: '86.7 L',
    annotation: 'The drain compounds; 30% of 120 is the trap.',
    domain: 'math',
    skill: 'compound percentages',
    complexity: 3,
    hops: 2,
    quality: 4.2,
    qualityLevel: 'L4',
    novelty: 0.4,
    provenance: { runId, episode, workflowId: `nanoflux-${runId}/math/ep-${episode}`, attackerModel: 'model-a', defenderModel: 'model-b', judgeModel: 'judge-1' },
    ...rest,
  };
}

const SOLUTION = '1. After 1 hour: 120 × 0.85 = 102 L.\n2. After 2 hours: 102 × 0.85 = 86.7 L.\n\nAnswer: 86.7 L';
const SYSTEM = 'Solve the problem step by step, then state the final answer.';

describe('export formats', () => {
  const e = example();

  it('openai: system, user, assistant turns; still importable from export.ts', () => {
    expect(formatExample('openai', e)).toEqual({
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: e.question },
        { role: 'assistant', content: SOLUTION },
      ],
    });
  });

  it('sharegpt: the same turns under its role names', () => {
    expect(formatExample('sharegpt', e)).toEqual({
      conversations: [
        { from: 'system', value: SYSTEM },
        { from: 'human', value: e.question },
        { from: 'gpt', value: SOLUTION },
      ],
    });
  });

  it('alpaca: instruction, empty input, output', () => {
    expect(formatExample('alpaca', e)).toEqual({ instruction: e.question, input: '', output: SOLUTION });
  });

  it('hf: one flat record', () => {
    expect(formatExample('hf', e)).toEqual({
      id: 'demo/math/ep-3',
      question: e.question,
      solution: SOLUTION,
      answer: '86.7 L',
      domain: 'math',
      skill: 'compound percentages',
      complexity: 3,
      hops: 2,
      quality: 4.2,
      quality_level: 'L4',
      novelty: 0.4,
      annotation: e.annotation,
      run_id: 'demo',
      episode: 3,
    });
  });

  it('lists every format', () => {
    expect([...EXPORT_FORMATS]).toEqual(['openai', 'sharegpt', 'alpaca', 'hf']);
  });
});

function summary(episode: number, outcome: Outcome): EpisodeSummary {
  return {
    episode,
    workflowId: `wf-${episode}`,
    attackerSlot: episode % 2 === 0 ? 'a' : 'b',
    topic: 't',
    targetComplexity: 3,
    outcome,
    tokens: { attacker: 1, defender: 1, judge: 1, embedding: 0 },
    toolCalls: 0,
  } as EpisodeSummary;
}

function episode(runId: string, domain: string, n: number, outcome: Outcome): EpisodeRecord {
  return { workflowId: `nanoflux-${runId}/${domain}/ep-${n}`, runId, domain, episode: n, summary: summary(n, outcome), transcript: { n } };
}

// Three examples (two math, one bio) out of eight episodes with mixed outcomes.
const EXAMPLES: TrainingExample[] = [
  example({ episode: 0 }),
  example({ episode: 2, complexity: 5, hops: 4, quality: 4.8, qualityLevel: 'L5', provenance: { runId: 'demo', episode: 2, workflowId: 'w2', attackerModel: 'model-b', defenderModel: 'model-a', judgeModel: 'judge-1' } }),
  example({ episode: 1, domain: 'bio', id: 'demo/bio/ep-1', complexity: 3, hops: 2, quality: 2.0, qualityLevel: 'L2' }),
];
const EPISODES: EpisodeRecord[] = [
  episode('demo', 'math', 0, 'accepted'),
  episode('demo', 'math', 1, 'duplicate'),
  episode('demo', 'math', 2, 'accepted'),
  episode('demo', 'math', 3, 'defender_correct'),
  episode('demo', 'math', 4, 'defender_correct'),
  episode('demo', 'bio', 0, 'failed'),
  episode('demo', 'bio', 1, 'accepted'),
  episode('demo', 'bio', 2, 'reference_wrong'),
];

/** The rows of the Markdown table that follows `heading`, as arrays of cells (header and rule dropped). */
function tableAfter(card: string, heading: string): string[][] {
  const lines = card.split('\n');
  const start = lines.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (line.startsWith('|')) rows.push(line.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows.slice(2);
}

describe('dataset card', () => {
  const config = {
    runId: 'demo',
    models: {
      a: { provider: 'openai', model: 'model-a', apiKeyEnv: 'OPENAI_API_KEY' },
      b: { provider: 'openai', model: 'model-b', baseURL: 'http://localhost:8000/v1', apiKeyEnv: 'LOCAL_KEY' },
      judge: { provider: 'openai', model: 'judge-1', apiKeyEnv: 'JUDGE_KEY' },
      embedding: { provider: 'local', model: 'embed' },
    },
    judge: { mcpServers: [{ name: 'lookup', transport: 'http', url: 'http://x/mcp', headersFromEnv: { Authorization: 'LOOKUP_TOKEN' } }] },
  };
  const card = datasetCard({ runId: 'demo', examples: EXAMPLES, episodes: EPISODES, config, format: 'hf', file: 'dataset.hf.jsonl' });

  it('opens with front matter of simple YAML keys and lists', () => {
    const lines = card.split('\n');
    expect(lines[0]).toBe('---');
    const end = lines.indexOf('---', 1);
    const fm = lines.slice(1, end);
    for (const l of fm) expect(l).toMatch(/^ *(- )?[a-z_]+:( .+)?$|^ *- \S+$/);
    expect(fm).toContain('license: other');
    expect(fm.slice(fm.indexOf('task_categories:'), fm.indexOf('task_categories:') + 2)).toEqual(['task_categories:', '  - question-answering']);
    expect(fm.slice(fm.indexOf('size_categories:'), fm.indexOf('size_categories:') + 2)).toEqual(['size_categories:', '  - n<1K']);
    expect(fm).toContain('configs:');
    expect(fm).toContain('        path: "dataset.hf.jsonl"');
  });

  it('counts examples, episodes, acceptance and rejections by reason', () => {
    expect(tableAfter(card, '## Summary')).toEqual([
      ['examples', '3'],
      ['episodes', '8'],
      ['accepted episodes', '3'],
      ['acceptance rate', '37.5%'],
    ]);
    expect(tableAfter(card, '### Rejections by reason')).toEqual([
      ['duplicate', '1', '12.5%'],
      ['defender_correct', '2', '25.0%'],
      ['too_hard', '0', '0.0%'],
      ['invalid_question', '0', '0.0%'],
      ['reference_wrong', '1', '12.5%'],
      ['failed', '1', '12.5%'],
      ['rejected_in_review', '0', '0.0%'],
      ['reference_unverified', '0', '0.0%'],
      ['prompt_leak', '0', '0.0%'],
      ['degenerate_steps', '0', '0.0%'],
      ['repeated_tokens', '0', '0.0%'],
      ['no_question', '0', '0.0%'],
      ['answer_unparseable', '0', '0.0%'],
    ]);
    expect(tableAfter(card, '## Domains')).toEqual([
      ['bio', '1', '3', '33.3%'],
      ['math', '2', '5', '40.0%'],
    ]);
  });

  it('has histograms of complexity, quality level and hops', () => {
    expect(tableAfter(card, '### Complexity').map((r) => r.slice(0, 2))).toEqual([['1', '0'], ['2', '0'], ['3', '2'], ['4', '0'], ['5', '1']]);
    expect(tableAfter(card, '### Quality level').map((r) => r.slice(0, 2))).toEqual([['L1', '0'], ['L2', '1'], ['L3', '0'], ['L4', '1'], ['L5', '1']]);
    expect(tableAfter(card, '### Hops').map((r) => r.slice(0, 2))).toEqual([['1', '0'], ['2', '2'], ['3', '0'], ['4', '1']]);
  });

  it('names the models from provenance, and describes the format', () => {
    expect(tableAfter(card, '## Models')).toEqual([
      ['attacker', 'model-a', '2'],
      ['attacker', 'model-b', '1'],
      ['defender', 'model-a', '1'],
      ['defender', 'model-b', '2'],
      ['judge', 'judge-1', '3'],
    ]);
    expect(card).toContain('## How it was generated');
    expect(card).toContain('## Data format: `hf`');
    expect(card).toContain('`quality_level`');
  });

  it('shows the config with env var names and nothing secret-looking', () => {
    expect(card).toContain('"apiKeyEnv": "OPENAI_API_KEY"');
    expect(card).toContain('"Authorization": "LOOKUP_TOKEN"');
    expect(card).not.toMatch(/\b(sk|rk|pk)-[A-Za-z0-9_-]{4,}|Bearer\s+\S/);
  });

  it('scrubs a key pasted into a config by mistake', () => {
    const leaky = { models: { a: { model: 'm', apiKey: 'hunter2-abcdef', apiKeyEnv: 'sk-live-abcdefgh' } }, note: 'Bearer abc.def' };
    const c = datasetCard({ runId: 'demo', examples: [], episodes: [], config: leaky, format: 'openai', file: 'dataset.openai.jsonl' });
    expect(c).not.toContain('hunter2');
    expect(c).not.toContain('sk-live-abcdefgh');
    expect(c).not.toContain('abc.def');
  });

  it('is deterministic, and omits the config section without a config', () => {
    const a = datasetCard({ runId: 'demo', examples: EXAMPLES, episodes: EPISODES, format: 'openai', file: 'dataset.openai.jsonl' });
    expect(datasetCard({ runId: 'demo', examples: EXAMPLES, episodes: EPISODES, format: 'openai', file: 'dataset.openai.jsonl' })).toBe(a);
    expect(a).not.toContain('## Run config');
  });

  it('says the Judge was not calibrated, and never says verified, where nothing measured or confirmed it', () => {
    expect(card).toContain('- The Judge was not calibrated for this run');
    expect(card).toContain("No accepted example's reference was confirmed by an executed check (0 of 3); 3 exported before checks were recorded.");
    expect(card).toContain('The Judge gave no verdict in this run.');
    expect(card).not.toMatch(/\bverified\b/i);
  });

  it('gives the calibration agreement per verdict field, and says when the Judge was accepted below the bar', () => {
    const c = datasetCard({ runId: 'demo', examples: EXAMPLES, episodes: EPISODES, format: 'openai', file: 'd.jsonl', calibration: reportCalibration(), judgeAccepted: { by: 'ana' } });
    expect(c).toContain('- math: judge judge-1 passed calibration on 40 gsm8k-train items: questionValid 95%');
    expect(tableAfter(c, '### Judge calibration')).toEqual([
      ['math', 'questionValid', '95%', '83%–99%', '38/40'],
      ['math', 'referenceCorrect', '83%', '68%–91%', '33/40'],
      ['math', 'defenderCorrect', '83%', '68%–92%', '30/36'],
      ['math', 'bad items accepted', '13%', '3%–36%', '2/16'],
    ]);
    expect(c).toContain('- The Judge was accepted below the bar by ana');
  });

  it('gives the share of references an executed check confirmed, by method, and the Judge\'s tool calls per verdict', () => {
    const checked = EXAMPLES.map((e, i) => ({ ...e, verification: i === 0 ? { method: 'none' as const, verified: null } : { method: 'program' as const, verified: true } }));
    const judged = EPISODES.map((e, i) => (i < 4 ? { ...e, summary: { ...e.summary, toolCalls: i, scores: { complexity: 3, hops: 2, quality: 4, qualityLevel: 'L4', novelty: 0.5 } } } : e));
    const c = datasetCard({ runId: 'demo', examples: checked, episodes: judged, format: 'openai', file: 'd.jsonl' });
    expect(c).toContain("2 of 3 accepted examples (67%) have a reference confirmed by an executed check (the Attacker's program run in the sandbox: 2); 1 on the Judge's word alone (no executed check applies).");
    expect(c).toContain('6 Judge tool calls over 4 verdicts: 1.50 per verdict.');
  });

  it('says what generation cost by role, as billed: discounted shares, cached prompt tokens, per accepted example', () => {
    const billedAt = (batch: number) => ({ cachedPrompt: { attacker: 0, defender: 0, judge: 2, embedding: 0 }, flex: { attacker: 0, defender: 0, judge: 0, embedding: 0 }, batch: { attacker: batch, defender: 0, judge: 0, embedding: 0 } });
    const priced = EPISODES.map((e, i) => ({ ...e, summary: { ...e.summary, tokens: { attacker: 10, defender: 20, judge: 30, embedding: 0 }, cost: { attacker: 0.001, defender: 0.002, judge: 0.003, embedding: 0 }, ...(i < 2 ? { billed: billedAt(10) } : {}) } }));
    const c = datasetCard({ runId: 'demo', examples: EXAMPLES, episodes: priced, format: 'openai', file: 'd.jsonl' });
    const n = priced.length;
    const accepted = priced.filter((e) => e.summary.outcome === 'accepted').length;
    expect(tableAfter(c, '## What it cost')).toEqual([
      ['attacker', String(10 * n), `$${(0.001 * n).toFixed(4)}`, `${((100 * 20) / (10 * n)).toFixed(1)}% by Batch API`],
      ['defender', String(20 * n), `$${(0.002 * n).toFixed(4)}`, '—'],
      ['judge', String(30 * n), `$${(0.003 * n).toFixed(4)}`, '4 prompt tokens from the cache'],
      ['embedding', '0', '$0.0000', '—'],
      ['total', String(60 * n), `$${(0.006 * n).toFixed(4)}`, ''],
      ['per accepted example', String(Math.round((60 * n) / accepted)), `$${((0.006 * n) / accepted).toFixed(4)}`, ''],
    ]);
    expect(tableAfter(card, '## What it cost').at(-2)).toEqual(['total', String(3 * EPISODES.length), 'not priced', '']);
  });

  it('flags a score level that holds more than 80% of the accepted examples as not discriminating', () => {
    expect(card).toContain('- quality level: no level holds more than 80% of the 3 accepted examples');
    const same = [0, 1, 2, 3].map((n) => example({ episode: n, qualityLevel: 'L5', quality: 5, complexity: 1 + (n % 2) }));
    const c = datasetCard({ runId: 'demo', examples: same, episodes: EPISODES, format: 'openai', file: 'd.jsonl' });
    expect(c).toContain('- quality level: NOT DISCRIMINATING — level L5 holds 4 of 4 accepted examples (100%, over the 80% bar)');
    expect(c).toContain('- complexity: no level holds more than 80% of the 4 accepted examples');
  });
});

describe('exportDataset', () => {
  let dir: string;
  let store: SqliteVectorStore;
  let ledger: Ledger;
  const embedder: Embedder = { id: 'test:embed', embed: async (t) => ({ vectors: t.map(() => [1, 0, 0]), tokens: 0 }) };
  const embedding = { provider: 'local' as const, model: 'test' };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nanoflux-export-'));
    store = new SqliteVectorStore(join(dir, 'vectors.db'));
    ledger = new Ledger(join(dir, 'ledger.db'));
    // Stored as storeExample stores them: the example plus a top-level runId to filter on.
    const stored = [...EXAMPLES, example({ episode: 9, runId: 'other-run' })];
    for (const e of stored) {
      const col = collectionName('examples', e.domain, embedder.id);
      await store.ensureCollection(col, 3);
      await store.upsert(col, [{ id: pointId(e.id), vector: [1, 0, 0], payload: { ...e, runId: e.provenance.runId } }]);
    }
    for (const r of EPISODES) ledger.record(r);
  });

  afterEach(async () => {
    await store.close();
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const activities = () => createDatasetActivities({ store, ledger, embedder: () => embedder, home: join(dir, 'home') });
  const read = (files: string[]) => files.map((f) => readFileSync(f, 'utf8'));

  it('writes every format, the examples, the episodes and the card; a re-run gives identical files', async () => {
    const exportDataset = activities().exportDataset;
    const args = { runId: 'demo', domains: ['math', 'bio'], embedding, formats: ['openai', 'sharegpt', 'alpaca', 'hf'] };
    const first = await exportDataset(args);

    const runDir = join(dir, 'home', 'runs', 'demo');
    expect(first.examples).toBe(3);
    expect(first.path).toBe(join(runDir, 'dataset.openai.jsonl'));
    expect(first.episodesPath).toBe(join(runDir, 'episodes.jsonl'));
    expect(first.files.map((f) => basename(f))).toEqual([
      'dataset.openai.jsonl', 'dataset.sharegpt.jsonl', 'dataset.alpaca.jsonl', 'dataset.hf.jsonl', 'examples.jsonl', 'episodes.jsonl', 'README.md', 'report.html',
    ]);
    for (const f of first.files.filter((f) => f.endsWith('.jsonl'))) {
      const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
      expect(lines, f).toHaveLength(basename(f) === 'episodes.jsonl' ? EPISODES.length : 3);
      for (const l of lines) JSON.parse(l);
    }
    // Sorted by domain then episode; the other run's example is left out.
    const hf = readFileSync(join(runDir, 'dataset.hf.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string });
    expect(hf.map((r) => r.id)).toEqual(['demo/bio/ep-1', 'demo/math/ep-0', 'demo/math/ep-2']);
    const card = readFileSync(join(runDir, 'README.md'), 'utf8');
    expect(card).toContain('        path: "dataset.openai.jsonl"');
    expect(card).toContain('## Data format: `openai`');

    const before = read(first.files);
    const second = await exportDataset(args);
    expect(second).toEqual(first);
    expect(read(second.files)).toEqual(before);
  });

  it('defaults to the openai format, as the workflow calls it', async () => {
    const r = await activities().exportDataset({ runId: 'demo', domains: ['math', 'bio'], embedding });
    expect(r.files.map((f) => basename(f))).toEqual(['dataset.openai.jsonl', 'examples.jsonl', 'episodes.jsonl', 'README.md', 'report.html']);
    expect(JSON.parse(readFileSync(r.path, 'utf8').split('\n')[0]!)).toEqual(toOpenAIChat(EXAMPLES[2]!));
  });

  it('keeps the run\'s calibration beside the dataset, so `nanoflux export` (which has none to give) writes the same card and report', async () => {
    const first = await activities().exportDataset({ runId: 'demo', domains: ['math', 'bio'], embedding, calibration: reportCalibration(), judgeAccepted: { by: 'ana' } });
    const runDir = join(dir, 'home', 'runs', 'demo');
    expect(first.files.map((f) => basename(f)).slice(-2)).toEqual(['report.html', 'calibration.json']);
    const card = readFileSync(join(runDir, 'README.md'), 'utf8');
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    expect(card).toContain('math: judge judge-1 passed calibration');
    expect(card).toContain('accepted below the bar by ana');
    expect(html).toContain('math: judge judge-1 passed calibration');
    expect(html.match(/<article class="episode"/g)).toHaveLength(EPISODES.length);
    for (const e of EPISODES) expect(html).toContain(`data-outcome="${e.summary.outcome}"`);

    const again = await activities().exportDataset({ runId: 'demo', domains: ['math', 'bio'], embedding });
    expect(again.files.map((f) => basename(f))).not.toContain('calibration.json');
    expect(readFileSync(join(runDir, 'README.md'), 'utf8')).toBe(card);
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toBe(html);

    // The run's own export of a run with calibration off says so, over what an earlier export kept.
    await activities().exportDataset({ runId: 'demo', domains: ['math', 'bio'], embedding, calibration: [] });
    expect(readFileSync(join(runDir, 'README.md'), 'utf8')).toContain('The Judge was not calibrated for this run');
  });

  it('refuses an unknown format before writing anything', async () => {
    await expect(activities().exportDataset({ runId: 'demo', domains: ['math'], embedding, formats: ['openai', 'parquet'] })).rejects.toThrow(/parquet/);
    expect(existsSync(join(dir, 'home', 'runs', 'demo'))).toBe(false);
  });
});
