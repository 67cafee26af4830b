/**
 * The dashboard's controls in a real browser (Debian's headless Chromium): the EVSE panel shows
 * a vehicle waiting for authorization, Accept lets it charge, Set limit and Disable reach the
 * station through the control API, and the page logs no error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../app/dashboard.js';
import { type ControlRun, phaseOf, startControlRun } from '../helpers/control-run.js';

let browser: BrowserContext | undefined;
let dash: Dashboard | undefined;
let run: ControlRun | undefined;
let profile = '';
afterEach(async () => {
  await browser?.close();
  await dash?.close();
  await run?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  browser = dash = run = undefined;
});

describe('dashboard controls', { timeout: 90_000 }, () => {
  it('authorize, set a limit and disable from the page', async () => {
    run = await startControlRun({ externalAuth: true });
    dash = await startDashboard(0, { routes: run.plane.routes });
    profile = mkdtempSync(join(tmpdir(), 'freev2g-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
    await page.goto(dash.url);
    await page.waitForSelector('.control[data-station="evse"]');

    // The simulated car arrives and waits; the page offers the decision.
    const r = run;
    await r.paced(() => r.plane.controller.state('evse')?.pendingAuthorization !== undefined);
    await page.waitForSelector('.control .pending');
    expect(await page.textContent('.control .pending')).toMatch(/waits for authorization/);
    await page.click('button[data-action="accept"]');
    await r.paced(() => phaseOf(r, 'EVSE') === 'charging');

    await page.fill('.control input[data-field="maxPowerW"]', '7000');
    await page.click('button[data-action="setLimits"]');
    await page.waitForFunction(() => /limits set: max 7000 W/.test(document.querySelector('.control .reply')?.textContent ?? ''));
    expect(r.plane.controller.state('evse')?.limits).toEqual({ maxPowerW: 7000 });

    await page.click('button[data-action="disable"]');
    await page.waitForSelector('button[data-action="enable"]');
    expect(r.plane.controller.state('evse')?.available).toBe(false);
    await r.paced(() => r.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    expect(r.emitted.EVSE.find((e) => e.type === 'sessionEnded')).toMatchObject({ record: { stopReason: 'operatorStop' } });
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
