/**
 * The control API on the dashboard server: state and commands as JSON, the token rule, the
 * WebSocket command channel, and /metrics in Prometheus text format after a session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Dashboard, startDashboard } from '../../app/dashboard.js';
import { type ControlRun, phaseOf, startControlRun } from '../helpers/control-run.js';

const open: Array<{ run: ControlRun; dash: Dashboard }> = [];
afterEach(async () => {
  for (const { run, dash } of open.splice(0)) {
    await dash.close();
    await run.close();
  }
});

async function start(token?: string): Promise<{ run: ControlRun; base: string }> {
  const run = await startControlRun(token ? { httpToken: token } : {});
  const dash = await startDashboard(0, { routes: run.plane.routes });
  open.push({ run, dash });
  return { run, base: dash.url.replace(/\/$/, '') };
}

const post = (url: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

describe('HTTP control API', () => {
  it('lists the stations and runs commands with replies; disabling holds the next car back', async () => {
    const { run, base } = await start();
    const list = (await (await fetch(`${base}/api/stations`)).json()) as Array<{ id: string; role: string }>;
    expect(list.map((s) => [s.id, s.role])).toEqual([
      ['evse', 'EVSE'],
      ['ev', 'EV'],
    ]);
    await run.until(() => phaseOf(run, 'EVSE') === 'charging');
    const r = await post(`${base}/api/stations/evse/disable`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, command: 'disable' });
    await run.until(() => run.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    const rec = run.emitted.EVSE.find((e) => e.type === 'sessionEnded');
    expect(rec).toMatchObject({ record: { stopReason: 'operatorStop' } });
    expect((await (await post(`${base}/api/stations/evse/disable`)).json()) as object).toMatchObject({ ok: true, message: 'already disabled' });
    const state = (await (await fetch(`${base}/api/stations/evse`)).json()) as { available: boolean; powerW: number };
    expect(state).toMatchObject({ available: false, powerW: 0 });
    expect((await post(`${base}/api/stations/nope/stop`)).status).toBe(404);
    expect((await post(`${base}/api/stations/evse/setLimits`, { maxPowerW: 'lots' })).status).toBe(400);
    expect((await post(`${base}/api/stations/ev/disable`)).status).toBe(400);
  });

  it('needs the token for /api and /metrics when one is set', async () => {
    const { base } = await start('s3cret');
    expect((await fetch(`${base}/api/stations`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/api/stations`, { headers: { authorization: 'Bearer wrong!' } })).status).toBe(401);
    expect((await fetch(`${base}/api/stations`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    // The page itself stays readable (it shows nothing the API would not).
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  it('takes commands over the WebSocket and pushes state changes', async () => {
    const { base } = await start();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ station: 'evse', command: 'setLimits', maxPowerW: 11000, id: 7 }));
    for (let i = 0; i < 50 && !messages.some((m) => m.kind === 'reply'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(messages.find((m) => m.kind === 'reply')).toMatchObject({ ok: true, command: 'setLimits', id: 7, message: 'limits set: max 11000 W' });
    expect(messages.some((m) => m.kind === 'state' && (m.state as { limits?: { maxPowerW?: number } }).limits?.maxPowerW === 11000)).toBe(true);
    ws.close();
  });

  it('serves Prometheus metrics: sessions by stop reason, energy, frames, update gaps', async () => {
    const { run, base } = await start();
    await run.until(() => run.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^freev2g_sessions_total\{station="evse",stop_reason="evStopped"\} 1$/m);
    expect(Number(/^freev2g_energy_delivered_wh_total\{station="evse"\} ([\d.]+)$/m.exec(text)?.[1])).toBeGreaterThan(100);
    expect(Number(/^freev2g_hci_frames_total\{station="evse",dir="tx"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(50);
    expect(Number(/^freev2g_update_gap_seconds_count\{station="evse"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(10);
    expect(text).toMatch(/^freev2g_station_up\{station="evse"\} 1$/m);
  });
});
