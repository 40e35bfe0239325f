/**
 * The agent's HTML page in a real browser (Debian's chromium driven by playwright-core,
 * headless, JavaScript off, as a port-forward user would open it): it renders the bed's
 * report — the re-pushed tag as running-stale with the fix ready to copy — with no
 * Content-Security-Policy violation and no request leaving the agent. A screenshot is
 * written to .tools/report-page.png (the README's picture comes from it).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBed } from '../../testbed/bed.js';
import { freePort, waitFor } from '../../testbed/proc.js';
import { startAgent, type RunningAgent } from '../helpers/cli.js';

let bed: TestBed;
let agent: RunningAgent;
let browser: Browser;
const profile = mkdtempSync(join(tmpdir(), 'tagdrift-chromium-'));

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-browser' });
  const v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'a1b2c3d' });
  await bed.kubelet.runPod({ namespace: 'shop', name: 'web-7d9c6b5f4-x5p6z', owner: { kind: 'ReplicaSet', name: 'web-7d9c6b5f4', templateHash: '7d9c6b5f4' }, containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
  await bed.publish('shop/web', '1.0', { version: '1.0.1', revision: 'f00dfee' });
  agent = await startAgent([...bed.scanArgs(), '--interval', '5m'], await freePort());
  await waitFor('agent ready', async () => (await agent.get('/readyz')).status === 200, 20_000);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await bed?.stop();
  rmSync(profile, { recursive: true, force: true });
});

describe('the HTML report in Chromium', () => {
  it('renders the incident without JavaScript, no CSP violation, no request elsewhere', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const res = await page.goto(`${agent.url}/`);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('tagdrift: node-browser');
    const stale = page.locator('article.finding.critical', { hasText: 'running-stale' });
    await expect(stale.count()).resolves.toBe(1);
    const text = await stale.innerText();
    expect(text).toContain(`${bed.upstream.host}/shop/web:1.0`);
    expect(text).toContain('shop/web-7d9c6b5f4-x5p6z');
    expect(text).toMatch(/registry build\s+1\.0\.1 f00dfee/);
    // The fix, in its own block, ready to copy.
    const fix = await stale.locator('pre').first().innerText();
    expect(fix).toMatch(/^kubectl -n shop set image deployment\/web web=.*@sha256:[0-9a-f]{64}$/);
    // Styled by its inline style (the CSP admits it by hash), nothing blocked.
    const border = await stale.evaluate((el) => getComputedStyle(el).borderLeftColor).catch(() => 'js-off');
    expect(['rgb(207, 34, 46)', 'js-off']).toContain(border);
    expect(console.filter((m) => /Content Security Policy|Refused/.test(m))).toEqual([]);
    expect(requests.every((u) => u.startsWith(agent.url))).toBe(true);
    const links = await page.locator('nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))).catch(() => []);
    expect(links.length === 0 || links.includes('/v1/findings')).toBe(true);
    mkdirSync(new URL('../../.tools/', import.meta.url).pathname, { recursive: true });
    await page.screenshot({ path: new URL('../../.tools/report-page.png', import.meta.url).pathname, fullPage: false });
    await context.close();
  }, 60_000);

  it('with JavaScript on, the style applies (the CSP hash matches) and the nav links resolve to JSON', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => (/Content Security Policy/.test(m.text()) ? violations.push(m.text()) : undefined));
    await page.goto(`${agent.url}/`);
    expect(await page.locator('article.finding.critical').first().evaluate((el) => getComputedStyle(el).borderLeftColor)).toBe('rgb(207, 34, 46)');
    expect(violations).toEqual([]);
    const href = await page.locator('nav a', { hasText: 'findings' }).getAttribute('href');
    const json = await (await page.request.get(`${agent.url}${href}`)).json() as { findings: unknown[] };
    expect(json.findings.length).toBeGreaterThan(0);
    await context.close();
  }, 60_000);
});
