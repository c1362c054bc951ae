import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { freePort, startDevServer } from '../../scripts/lib/dev-server.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { startScriptedOpenAI } from '../support/scripted-openai.js';
import { startTestWorkers, testClient } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'webui';

describe('explore', () => {
  it('dumps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nanoflux-webui-'));
    const uiPort = await freePort();
    const server = await startDevServer({ uiPort, namespaces: [NS], logFile: join(dir, 'temporal.log') });
    const openai = await startScriptedOpenAI();
    const workers = await startTestWorkers(NS, undefined, server.address);
    const tc = await testClient(NS, server.address);
    scriptGame(openai);
    const config = testConfig(openai.baseURL, 'webui', { generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 } });
    await tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('webui'), args: [config] });
    const ids: string[] = [];
    for await (const w of tc.client.workflow.list({ query: 'NanofluxRunId="webui"' })) ids.push(`${w.workflowId} ${w.type}`);
    console.log(ids);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const out = 'test-artifacts/explore';
    mkdirSync(out, { recursive: true });
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/${NS}/workflows?query=${encodeURIComponent('NanofluxRunId="webui"')}`);
    await page.waitForTimeout(8000);
    writeFileSync(`${out}/list.html`, await page.content());
    writeFileSync(`${out}/list.txt`, await page.innerText('body'));
    await page.screenshot({ path: `${out}/list.png`, fullPage: true });
    const ep = ids.find((i) => i.includes('/ep-'))!.split(' ')[0]!;
    await page.goto(`http://127.0.0.1:${uiPort}/namespaces/${NS}/workflows/${encodeURIComponent(ep)}`);
    await page.waitForTimeout(8000);
    writeFileSync(`${out}/ep.html`, await page.content());
    writeFileSync(`${out}/ep.txt`, await page.innerText('body'));
    writeFileSync(`${out}/ep.url`, page.url());
    await page.screenshot({ path: `${out}/ep.png`, fullPage: true });
    for (const tab of ['history', 'user-metadata', 'memo']) {
      await page.goto(page.url().replace(/\/[a-z-]+(\?.*)?$/, `/${tab}`));
      await page.waitForTimeout(5000);
      writeFileSync(`${out}/${tab}.html`, await page.content());
      writeFileSync(`${out}/${tab}.txt`, await page.innerText('body'));
      await page.screenshot({ path: `${out}/${tab}.png`, fullPage: true });
    }
    await browser.close();
    await tc.close();
    await workers.stop();
    await openai.close();
    await server.stop();
    expect(1).toBe(1);
  }, 180_000);
});
