/**
 * The `--inspect` dashboard in headless Chromium during a simulated session: the page loads with
 * its legend, shows both stations' active states (from the XState inspector), a phase timeline per
 * station, the EVSE's deadline figures live against the module's 500 ms, decoded HCI messages and
 * plots that grow; its button opens Stately's inspector fed with the stations' actors; after the
 * run the dashboard keeps serving until SIGINT, then says it stopped; the page logs no error.
 * The screenshot goes to docs/dashboard.png (FREEV2G_UPDATE_SCREENSHOT=1).
 *
 * Nothing leaves the machine: Stately's inspector (stately.ai) is answered by a stand-in page
 * that records what it receives, and Chromium resolves no host but 127.0.0.1.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tmp } from '../helpers/app-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
/** Stands in for https://stately.ai/inspect: says it listens, as the real one does, and keeps what it gets. */
const INSPECTOR_STAND_IN = `<!doctype html><title>inspector stand-in</title><script>
  window.received = [];
  addEventListener('message', (e) => window.received.push(e.data));
  parent.postMessage({ type: '@statelyai.connected' }, '*');
</script>`;

describe.runIf(existsSync(CHROMIUM))('dashboard', () => {
  let browser: BrowserContext | undefined;
  const profile = tmp();
  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('legend, timeline, live deadlines, plots, the inspector; serves on after the run until SIGINT', async () => {
    // The browser first: under load it takes seconds to start, and the session must still run.
    // A fresh profile directory (--user-data-dir) per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
    });
    let url: string | undefined;
    let resolveUrl: (u: string) => void = () => undefined;
    let resolveEnded: () => void = () => undefined;
    let proc: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const urlKnown = new Promise<string>((r) => (resolveUrl = r));
    const runEnded = new Promise<void>((r) => (resolveEnded = r));
    const records = join(tmp(), 'records.jsonl');
    const run = runCli(['sim', '--inspect=0', '--speed', '20', '--records', records], {
      timeoutMs: 120_000,
      onStdout: (out, child) => {
        proc = child;
        const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m && !url) resolveUrl((url = m[1] as string));
        if (out.includes('The run has ended; the dashboard stays at')) resolveEnded();
      },
    });
    const address = await Promise.race([urlKnown, run.then((r) => Promise.reject(new Error(`sim ended early: ${r.stderr}`)))]);
    await browser.route('https://stately.ai/**', (route) => route.fulfill({ contentType: 'text/html', body: INSPECTOR_STAND_IN }));
    const errors: string[] = [];
    const watch = (page: Page): void => {
      page.on('pageerror', (e) => errors.push(e.message));
      // Console errors too: the page logged a 404 (the browser's favicon request) before it named one.
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
    };
    const page = await browser.newPage();
    watch(page);
    await page.goto(address);
    await page.waitForSelector('#conn.on', { timeout: 10_000 });

    // The legend explains colours and figures.
    const legend = await page.textContent('#legend');
    expect(legend).toMatch(/EVSE.*EV/s);
    expect(legend).toMatch(/phase timeline/);
    expect(legend).toMatch(/update gap.*reaction.*500 ms/s);

    // Both stations appear with active states from the inspector.
    await page.waitForFunction(() => document.querySelectorAll('.station ul.active li').length >= 2, undefined, { timeout: 20_000, polling: 250 });
    const stations = await page.$$eval('.station', (els) => els.map((e) => (e as HTMLElement).dataset.station));
    expect(stations).toEqual(expect.arrayContaining(['EVSE', 'EV']));

    // Samples arrive while charging, and keep arriving.
    await page.waitForFunction(() => Number(document.body.dataset.samples ?? 0) > 5, undefined, { timeout: 60_000, polling: 250 });
    const first = Number(await page.evaluate(() => document.body.dataset.samples));
    await page.waitForFunction((n) => Number(document.body.dataset.samples ?? 0) > n + 5, first, { timeout: 20_000, polling: 250 });

    // The timeline: each phase so far with its start and duration, charging in progress.
    const timeline = await page.$$eval('.station.EVSE .timeline tr', (trs) =>
      trs.map((tr) => ({
        phase: (tr as HTMLElement).dataset.phase,
        start: tr.querySelector('.start')?.textContent,
        duration: tr.querySelector('.duration')?.textContent,
        current: tr.classList.contains('current'),
      })),
    );
    const phases = timeline.map((r) => r.phase);
    expect(phases.slice(0, 4)).toEqual(['waitingForVehicle', 'slac', 'v2gSetup', 'sessionStarted']);
    expect(phases.slice(-3)).toEqual(['cableCheck', 'preCharge', 'charging']);
    expect(timeline[0]?.start).toBe('t+00:00');
    for (const r of timeline) expect(r.duration).toMatch(/^\d\d:\d\d$/);
    expect(timeline.at(-1)?.current).toBe(true);

    // The deadline figures: EVSE against the module's 500 ms, live; the EV has no module deadline.
    await page.waitForSelector('.station.EVSE .deadline-row[data-figure="updateGap"] .meter', { timeout: 10_000 });
    const evseFigures = await page.$$eval('.station.EVSE .deadline-row', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(evseFigures[0]).toMatch(/^update gap \d+\.\d ms · longest \d+\.\d ms.*deadline 500 ms$/);
    expect(evseFigures[1]).toMatch(/^reaction \d+\.\d ms · longest \d+\.\d ms.*deadline 500 ms$/);
    await page.waitForSelector('.station.EV .deadline-row[data-figure="updateGap"]', { timeout: 10_000 });
    expect(await page.textContent('.station.EV .deadline-row[data-figure="updateGap"]')).toMatch(/no module deadline$/);

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

    // The button opens the statechart inspector, fed with the stations' live actors.
    const [inspector] = await Promise.all([page.waitForEvent('popup'), page.click('#open-inspector')]);
    watch(inspector);
    await inspector.waitForLoadState();
    const stately = (): ReturnType<Page['frame']> => inspector.frames().find((f) => f.url().startsWith('https://stately.ai/')) ?? null;
    await inspector.waitForFunction(() => document.querySelector('iframe')?.src.startsWith('https://stately.ai/inspect'), undefined, { polling: 250 });
    await expect
      .poll(async () => (await stately()?.evaluate(() => (window as unknown as { received: Array<{ type?: string }> }).received.filter((e) => e.type === '@xstate.actor').length)) ?? 0, {
        timeout: 10_000,
      })
      .toBeGreaterThan(1);
    await inspector.close();

    // The run ends; the dashboard keeps serving (and says so) until SIGINT.
    await runEnded;
    await page.waitForFunction(() => document.body.dataset.run === 'ended', undefined, { timeout: 10_000, polling: 250 });
    expect(await page.textContent('#run')).toMatch(/dashboard stays at .* until Ctrl-C/);
    await page.reload();
    await page.waitForSelector('#conn.on', { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('.station.EVSE .timeline tr').length > 0, undefined, { polling: 250 });
    const after = await page.$$eval('.station.EVSE .timeline tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.phase));
    expect(after).toContain('charging');
    expect(after.at(-1)).toBe('stopped');
    expect(await page.evaluate(() => document.body.dataset.run)).toBe('ended');

    // SIGINT stops it: the log and the page say so, the exit is clean.
    proc?.kill('SIGINT');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Dashboard ${address} stopped`);
    await page.waitForFunction(() => document.body.dataset.run === 'closed', undefined, { timeout: 10_000, polling: 250 });
    expect(await page.textContent('#conn')).toBe('stopped');
    // No retry after the server stopped (it would log connection errors).
    await page.waitForTimeout(3500);
    expect(errors).toEqual([]);
  }, 150_000);
});
