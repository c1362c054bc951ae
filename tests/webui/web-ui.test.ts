import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, readEnv } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { type DevServer, freePort, startDevServer } from '../../scripts/lib/dev-server.js';
import { domainWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';
import { startTestWorkers, testClient } from '../support/workers.js';

/**
 * The Temporal web UI, read by headless Chromium the way an operator reads it: filtered by a run's
 * `NanofluxRunId` it lists that run's workflows (and no other run's), and an episode's page shows
 * its one-line summary and its attack, defend and judge activities. This file starts a dev server
 * of its own, because the shared one (global-setup) is headless. Screenshots are kept in
 * test-artifacts/web-ui/.
 */
process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'webui';
const RUN = 'webui';
const OTHER_RUN = 'webui-other';
const CHROMIUM = readEnv().chromium;
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'web-ui');
const SCREENSHOTS = {
  list: join(ARTIFACTS, 'run-workflows.png'),
  timeline: join(ARTIFACTS, 'episode-timeline.png'),
  metadata: join(ARTIFACTS, 'episode-user-metadata.png'),
  history: join(ARTIFACTS, 'episode-event-history.png'),
};
/** The UI is a single-page app that fetches after it loads: wait on what it shows, never on a clock. */
const UI_TIMEOUT = 45_000;
const SETUP_TIMEOUT = 150_000;

describe('Temporal web UI (headless Chromium)', () => {
  let server: DevServer | undefined;
  let uiPort = 0;
  let openai: ScriptedOpenAI | undefined;
  let workers: Awaited<ReturnType<typeof startTestWorkers>> | undefined;
  let tc: Awaited<ReturnType<typeof testClient>> | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let runIds: string[] = [];
  let otherIds: string[] = [];

  // A failed beforeAll would leave the tests reported as skipped; keep its error and fail each test with it instead.
  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  beforeAll(async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`setup (dev server, workers, two scripted runs, Chromium) did not finish in ${SETUP_TIMEOUT / 1000} s`)), SETUP_TIMEOUT);
    });
    try {
      await Promise.race([setup(), late]);
    } catch (e) {
      setupError = e;
    } finally {
      clearTimeout(timer);
    }
  }, SETUP_TIMEOUT + 30_000);

  async function setup(): Promise<void> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: the web UI test needs it. \`npm test\` installs it (node scripts/bootstrap.mjs --trainer runs apt-get as root); ` +
          'otherwise install it with `sudo apt-get install chromium` (Debian) or point NANOFLUX_CHROMIUM at a Chromium binary.',
      );
    }
    for (const f of Object.values(SCREENSHOTS)) rmSync(f, { force: true });
    mkdirSync(ARTIFACTS, { recursive: true });

    const dir = mkdtempSync(join(tmpdir(), 'nanoflux-webui-'));
    uiPort = await freePort();
    server = await startDevServer({ uiPort, namespaces: [NS], logFile: join(dir, 'temporal.log') });
    openai = await startScriptedOpenAI();
    workers = await startTestWorkers(NS, undefined, server.address);
    tc = await testClient(NS, server.address);
    scriptGame(openai);
    // Two runs in one namespace, so the filter has something to filter out.
    for (const [runId, targetAccepted] of [[RUN, 2], [OTHER_RUN, 1]] as const) {
      const config = testConfig(openai.baseURL, runId, { generation: { targetAccepted, maxEpisodes: 20, concurrency: 2 } });
      await tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(runId), args: [config] });
    }
    runIds = expectedIds(RUN);
    otherIds = expectedIds(OTHER_RUN);
    // What the UI will list is what visibility answers; wait until it has caught up with the ledger.
    await waitFor(async () => sameSet(await listIds(`NanofluxRunId="${RUN}"`), runIds), 'visibility to list the run', 15_000);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(UI_TIMEOUT);
  }

  afterAll(async () => {
    await browser?.close();
    await tc?.close();
    await workers?.stop();
    await openai?.close();
    await server?.stop();
  });

  function expectedIds(runId: string): string[] {
    const episodes = workers!.deps.ledger.episodes(runId).map((e) => e.workflowId);
    expect(episodes.length).toBeGreaterThanOrEqual(2);
    return [runWorkflowId(runId), domainWorkflowId(runId, 'math'), ...episodes];
  }

  async function listIds(query: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const w of tc!.client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  }

  const ui = (path: string) => `http://127.0.0.1:${uiPort}/namespaces/${NS}${path}`;

  it("lists a run's workflows, episodes included, when filtered by its NanofluxRunId", async () => {
    ready();
    const p = page!;
    const query = `NanofluxRunId="${RUN}"`;
    await p.goto(ui(`/workflows?query=${encodeURIComponent(query)}`), { waitUntil: 'domcontentloaded' });
    // Each workflow id is a link to its page; a small run fits on one page of the table.
    for (const id of runIds) await p.getByRole('link', { name: id, exact: true }).first().waitFor({ state: 'visible' });
    const linked = (await p.getByRole('link').allInnerTexts()).map((t) => t.trim()).filter((t) => /^nanoflux-/.test(t));
    expect(new Set(linked)).toEqual(new Set(runIds));
    for (const id of otherIds) expect(linked).not.toContain(id);
    // The filter the UI applied is the run's search attribute (shown as a filter chip).
    expect(await p.innerText('body')).toMatch(/NanofluxRunId\s*=\s*"webui"/);
    await p.screenshot({ path: SCREENSHOTS.list, fullPage: true });
    expectScreenshot(SCREENSHOTS.list);
  });

  it("shows an episode's one-line summary and its attack, defend and judge activities", async () => {
    ready();
    const p = page!;
    const episode = workers!.deps.ledger.episodes(RUN).find((e) => e.summary.scores) ?? workers!.deps.ledger.episodes(RUN)[0]!;
    const description = await tc!.client.workflow.getHandle(episode.workflowId).describe();
    const staticSummary = await description.staticSummary();
    const summaryLine = String(description.memo?.summary ?? '');
    // The summary names the roles, the outcome and the scores.
    expect(staticSummary).toMatch(/attacker [AB] \(model-[ab]\), defender model-[ab]/);
    expect(summaryLine).toContain(episode.summary.outcome);
    expect(summaryLine).toMatch(/attacker [AB] \(model-[ab]\) vs defender \(model-[ab]\) — complexity \d, quality [\d.]+ \(L\d\), hops \d/);

    await p.goto(ui(`/workflows/${encodeURIComponent(episode.workflowId)}`), { waitUntil: 'domcontentloaded' });
    // Timeline (the default tab): one labelled bar per activity, labelled by its type.
    await p.getByText(episode.workflowId, { exact: true }).first().waitFor({ state: 'visible' });
    for (const activity of ['attack', 'defend', 'judge']) await p.getByText(activity, { exact: true }).first().waitFor({ state: 'visible' });
    await p.screenshot({ path: SCREENSHOTS.timeline, fullPage: true });
    expectScreenshot(SCREENSHOTS.timeline);

    // Event History: each scheduled activity by its type.
    await p.getByRole('tab', { name: /^Event History/ }).click();
    await waitForText(p, ['attack', 'defend', 'judge'].map((a) => new RegExp(`Activity Type\\s+${a}\\b`)), SCREENSHOTS.history);
    await p.screenshot({ path: SCREENSHOTS.history, fullPage: true });
    expectScreenshot(SCREENSHOTS.history);

    // User Metadata: the static summary (roles) and the current details (outcome, roles, scores),
    // rendered as markdown inside frames of their own.
    await p.getByRole('tab', { name: /^User Metadata/ }).click();
    await waitForText(p, [staticSummary!, summaryLine], SCREENSHOTS.metadata);
    await p.screenshot({ path: SCREENSHOTS.metadata, fullPage: true });
    expectScreenshot(SCREENSHOTS.metadata);
  });
});

function expectScreenshot(path: string): void {
  expect(existsSync(path), path).toBe(true);
  expect(statSync(path).size, path).toBeGreaterThan(10_000);
}

/** The text a reader sees: the page's and that of its frames (the UI renders markdown in iframes). */
async function visibleText(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((f) => f.innerText('body', { timeout: 2000 }).catch(() => '')));
  return texts.join('\n');
}

/** Waits until the page shows every one of `wanted`; on a timeout keeps the page's HTML beside the screenshots. */
async function waitForText(page: Page, wanted: (string | RegExp)[], artifact: string): Promise<void> {
  const shows = (text: string, w: string | RegExp) => (typeof w === 'string' ? text.includes(w) : w.test(text));
  let text = '';
  try {
    await waitFor(async () => {
      text = await visibleText(page);
      return wanted.every((w) => shows(text, w));
    }, 'the page to show its text', UI_TIMEOUT);
  } catch {
    writeFileSync(artifact.replace(/\.png$/, '.html'), await page.content());
    await page.screenshot({ path: artifact, fullPage: true }).catch(() => undefined);
    const missing = wanted.filter((w) => !shows(text, w)).map(String);
    throw new Error(`${page.url()} does not show ${missing.join(', ')}; it shows:\n${text.slice(0, 4000)}`);
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && new Set(a).size === new Set(b).size && b.every((x) => a.includes(x));
}
