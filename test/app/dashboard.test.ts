/**
 * The `--inspect` dashboard in headless Chromium during a simulated session: the page loads,
 * shows both stations' active states (from the XState inspector), decoded HCI messages, and
 * plots that grow while the session runs. The screenshot goes to docs/dashboard.png.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tmp } from '../helpers/app-helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.runIf(existsSync(CHROMIUM))('dashboard', () => {
  let browser: BrowserContext | undefined;
  const profile = tmp();
  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('loads, updates during a simulated session, and plots the charging curve', async () => {
    let url: string | undefined;
    let resolveUrl: (u: string) => void = () => undefined;
    const urlKnown = new Promise<string>((r) => (resolveUrl = r));
    const records = join(tmp(), 'records.jsonl');
    const run = runCli(['sim', '--inspect=0', '--speed', '40', '--records', records], {
      timeoutMs: 60_000,
      onStdout: (out) => {
        const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m && !url) resolveUrl((url = m[1] as string));
      },
    });
    const address = await Promise.race([urlKnown, run.then((r) => Promise.reject(new Error(`sim ended early: ${r.stderr}`)))]);
    // A fresh profile directory (--user-data-dir) per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Console errors too: the page logged a 404 (the browser's favicon request) before it named one.
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await page.goto(address);
    await page.waitForSelector('#conn.on', { timeout: 10_000 });

    // Both stations appear with active states from the inspector.
    await page.waitForFunction(() => document.querySelectorAll('.station ul.active li').length >= 2, undefined, { timeout: 20_000 });
    const stations = await page.$$eval('.station', (els) => els.map((e) => (e as HTMLElement).dataset.station));
    expect(stations).toEqual(expect.arrayContaining(['EVSE', 'EV']));

    // Samples arrive while charging, and keep arriving.
    await page.waitForFunction(() => Number(document.body.dataset.samples ?? 0) > 5, undefined, { timeout: 30_000 });
    const first = Number(await page.evaluate(() => document.body.dataset.samples));
    await page.waitForFunction((n) => Number(document.body.dataset.samples ?? 0) > n + 5, first, { timeout: 20_000 });

    // Decoded HCI messages are listed.
    const rows = await page.$$eval('#messages tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((r) => /V2g\.\w+/.test(r))).toBe(true);

    // The power plot has drawn a coloured line.
    const coloured = await page.evaluate(() => {
      const c = document.getElementById('plot-power') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if ((d[i] ?? 0) > 200 && (d[i + 1] ?? 0) > 150 && (d[i + 2] ?? 0) < 120) n++; // EV orange
      for (let i = 0; i < d.length; i += 4) if ((d[i + 2] ?? 0) > 200 && (d[i] ?? 0) < 120) n++; // EVSE blue
      return n;
    });
    expect(coloured).toBeGreaterThan(50);

    // docs/dashboard.png (for the README) is rewritten with FREEV2G_UPDATE_SCREENSHOT=1 or when
    // missing; otherwise the shot goes to a temporary file so test runs leave the tree clean.
    const docsShot = join(ROOT, 'docs', 'dashboard.png');
    const update = process.env.FREEV2G_UPDATE_SCREENSHOT === '1' || !existsSync(docsShot);
    const shot = update ? docsShot : join(tmp(), 'dashboard.png');
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(errors).toEqual([]);

    const r = await run;
    expect(r.code).toBe(0);
  }, 90_000);
});
