import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetActivities } from '../../activities/dataset/activities.js';
import type { Embedder } from '../../activities/store/embeddings/embedder.js';
import { Ledger } from '../../activities/store/ledger.js';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { PROJECT_ROOT, readEnv } from '../../common/env.js';
import { reportCalibration, reportEpisodes, reportExamples, RUN } from '../support/report-episodes.js';

/**
 * report.html as a reader opens it: exported by the real export activity from a ledger and a
 * vector store written the way episodes write them, then loaded from disk (file://) in headless
 * Chromium (Debian's /usr/bin/chromium, as tests/webui/web-ui.test.ts launches it). It loads with no
 * page error and no dialog from the hostile text, filtering by outcome or level hides the other
 * episodes, and an episode's link points at its page in the Temporal web UI. A screenshot is kept
 * in test-artifacts/report-html/.
 */
const CHROMIUM = readEnv().chromium;
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'report-html');
const WEB_UI = { url: 'http://localhost:18233', namespace: 'reports' };

describe('report.html in headless Chromium', () => {
  let dir = '';
  let browser: Browser | undefined;
  let page: Page | undefined;
  const problems: string[] = [];
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
    return page!;
  };

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`sudo apt-get install chromium\` (Debian) or point NANOFLUX_CHROMIUM at a Chromium binary.`);
      }
      dir = mkdtempSync(join(tmpdir(), 'nanoflux-report-html-'));
      const file = await exportRun(dir);
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    } catch (e) {
      setupError = e;
    }
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const visible = async (p: Page) => p.locator('article.episode:visible').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-outcome')}:${e.id}`));

  it('loads every episode with no page error, console error or dialog', async () => {
    const p = ready();
    await expect.poll(() => p.title()).toBe(`NanoFlux run ${RUN}: episodes`);
    expect(await visible(p)).toEqual([
      'accepted:ep-math-1', 'prompt_leak:ep-math-2', 'reference_unverified:ep-math-3', 'duplicate:ep-math-4', 'defender_correct:ep-math-5', 'accepted:ep-math-6',
    ]);
    await expect.poll(() => p.locator('#shown').textContent()).toBe('6 of 6 episodes shown');
    expect(await p.locator('#calibration').textContent()).toContain('math: judge judge-1 passed calibration');
    // The hostile question is shown as text, not run.
    expect(await p.locator('#ep-math-2 .q').textContent()).toBe('<script>alert("q")</script> What is {{question}}?');
    await p.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('filters by outcome, then by level, hiding the other episodes', async () => {
    const p = ready();
    await p.selectOption('#filter-outcome', 'reference_unverified');
    expect(await visible(p)).toEqual(['reference_unverified:ep-math-3']);
    expect(await p.locator('#shown').textContent()).toBe('1 of 6 episodes shown');
    await expect.poll(() => p.locator('#ep-math-3 pre.stdout').textContent()).toBe('85\n');

    await p.selectOption('#filter-outcome', 'accepted');
    expect(await visible(p)).toEqual(['accepted:ep-math-1', 'accepted:ep-math-6']);
    await p.selectOption('#filter-level', 'L5');
    expect(await visible(p)).toEqual(['accepted:ep-math-6']);
    await p.selectOption('#filter-outcome', '');
    await p.selectOption('#filter-level', 'unscored');
    expect(await visible(p)).toEqual(['prompt_leak:ep-math-2', 'reference_unverified:ep-math-3', 'duplicate:ep-math-4']);
    await p.selectOption('#filter-level', '');
    expect(await visible(p)).toHaveLength(6);
    expect(problems).toEqual([]);
  });

  it("links an episode to its page in the Temporal web UI", async () => {
    const p = ready();
    const link = p.locator('#ep-math-4 a.web-ui');
    await expect.poll(() => link.isVisible()).toBe(true);
    expect(await link.getAttribute('href')).toBe(`${WEB_UI.url}/namespaces/${WEB_UI.namespace}/workflows/${encodeURIComponent(`nanoflux-${RUN}/math/ep-000004`)}`);
    // What the browser would open: the same URL, resolved.
    expect(await link.evaluate((a) => (a as unknown as { href: string }).href)).toBe(`${WEB_UI.url}/namespaces/reports/workflows/nanoflux-rpt%2Fmath%2Fep-000004`);
  });
});

/** The run's store and ledger written as the episodes write them, then the export activity itself; returns report.html's path. */
async function exportRun(dir: string): Promise<string> {
  const store = new SqliteVectorStore(join(dir, 'vectors.db'));
  const ledger = new Ledger(join(dir, 'ledger.db'));
  try {
    const embedder: Embedder = { id: 'test:embed', embed: async (t) => ({ vectors: t.map(() => [1, 0, 0]), tokens: 0 }) };
    const col = collectionName('examples', 'math', embedder.id);
    await store.ensureCollection(col, 3);
    for (const e of reportExamples()) await store.upsert(col, [{ id: pointId(e.id), vector: [1, 0, 0], payload: { ...e, runId: RUN } }]);
    for (const r of reportEpisodes()) ledger.record(r);
    const activities = createDatasetActivities({ store, ledger, embedder: () => embedder, home: join(dir, 'home'), webUi: WEB_UI });
    const r = await activities.exportDataset({ runId: RUN, domains: ['math'], embedding: { provider: 'local', model: 'test' }, calibration: reportCalibration() });
    expect(r.examples).toBe(2);
    return r.files.find((f) => f.endsWith('report.html'))!;
  } finally {
    await store.close();
    ledger.close();
  }
}
