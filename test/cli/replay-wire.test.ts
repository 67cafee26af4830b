/**
 * Replay of a capture made on a real wire (issue 9 item 5): `freev2g module-sim --firmware
 * V02_00_00` serves a simulated EVSE module on one end of a veth pair, our host (`freev2g eth`)
 * runs on the other end with `--capture`, and the session runs in real time until it ends on its
 * own. `freev2g sim --replay` then plays the module's side of that capture to our host machines:
 * it must follow the capture to its end and reach the same phases. The one expected divergence:
 * the charger's measured output (present voltage and current in Update DC Charging Parameters)
 * while it ramps, which depends on when the real-time host sampled it; every request and every
 * other value is the captured host's.
 * The capture is made here (no binary committed); namespaces keep every frame on this machine.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadStation } from '../../app/config.js';
import { loadCapturedSession } from '../../app/replay/captured.js';
import { runReplay } from '../../app/replay/run.js';
import { BIN, runCli, runProcess, tmp } from '../helpers/app-helpers.js';
import { PROJECT_ROOT, type VethPair, createVethPair, netnsAvailable } from '../helpers/netns.js';

const can = netnsAvailable();
/** A short session in real time: the module-sim's car starts at 94 % of its 2 kWh and stops at 95 % (20 Wh, ~6 s at 12 kW). */
const SHORT = { FREEV2G_EV__BATTERY__CAPACITY: '2000', FREEV2G_EV__BATTERY__LEVEL: '1880' };
const FIRMWARE = 'V02_00_00';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function moduleSim(veth: VethPair): Promise<{ child: ChildProcessWithoutNullStreams; out: string[] }> {
  const child = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, BIN, 'module-sim', '--role', 'EVSE', '--firmware', FIRMWARE, '--interface', veth.b.iface], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...SHORT },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  cleanups.push(() => child.kill('SIGTERM'));
  const end = Date.now() + 30_000;
  while (!out.join('').includes('module-sim: simulated EVSE module')) {
    if (Date.now() > end) throw new Error(`module-sim did not start: ${out.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, out };
}

describe.runIf(can.ok)('replay of a capture made on a veth pair', () => {
  it(`module-sim --firmware ${FIRMWARE} <-> freev2g eth --capture, then sim --replay: to the end, same phases, only the ramp's measured output differs`, async () => {
    const veth = await createVethPair();
    cleanups.push(() => veth.destroy());
    const sim = await moduleSim(veth);
    const pcap = join(tmp(), 'wire.pcap');
    // The host runs until its session ended on its own (the car reached its target), then stops.
    let stopped = false;
    const host = await runProcess(
      'ip',
      ['netns', 'exec', veth.a.ns, process.execPath, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', 'EVSE', '--log-format', 'json', '--no-records', '--capture', pcap],
      {
        timeoutMs: 150_000,
        onStdout: (out, child) => {
          if (!stopped && /"type":"sessionEnded"/.test(out)) {
            stopped = true;
            child.kill('SIGTERM');
          }
        },
      },
    );
    expect(stopped, `${host.stdout.slice(-1500)}\n${host.stderr}\n${sim.out.join('').slice(-1500)}`).toBe(true);
    expect(host.code).toBe(0);

    // What was on the wire: the profile's firmware, its status request ID 0x00 (#3, #237).
    const session = loadCapturedSession(pcap);
    expect(session.role).toBe('EVSE');
    const fw = session.frames.find((f) => f.name === 'System.GetFirmwareVersion' && f.kind === 'response');
    expect(fw?.fields?.version).toBe(FIRMWARE);
    expect(session.frames.some((f) => f.name === 'V2g.EvseSessionStarted' && f.reqId === 0x00)).toBe(true);

    // Replayed against our host machines, with the captured host's configuration.
    const r = await runReplay({ capture: pcap, settingsFor: (role) => loadStation(undefined, role) });
    const report = r.lines.join('\n');
    expect(r.reachedFrameNo, report).toBe(r.totalFrames);
    expect(r.phases).toEqual([
      'waitingForVehicle',
      'slac',
      'v2gSetup',
      'sessionStarted',
      'authorization',
      'chargeParameterDiscovery',
      'cableCheck',
      'preCharge',
      'charging',
      'postCharge',
      'sessionStopped',
      'shuttingDown',
      'stopped',
    ]);
    // Measured output only, sampled from the same ramps (target 200 V, 60 A, and down to 0 at the
    // end) a little earlier or later: how much later depends on the live run's load (at load 4 the
    // ramp down was sampled 51 V apart), so the bound is the ramp's range, and most updates agree.
    const ranges: Record<string, number> = { presentVoltageV: 200, presentCurrentA: 60 };
    for (const d of r.divergences) {
      expect(d.kind, report).toBe('fields');
      if (d.kind !== 'fields') continue;
      expect(d.captured.name, report).toBe('V2g.EvseUpdateDcChargingParameters');
      for (const diff of d.differences) {
        expect(Object.keys(ranges), report).toContain(diff.path);
        for (const v of [diff.captured, diff.host]) expect(Number(v), report).toBeGreaterThanOrEqual(0);
        for (const v of [diff.captured, diff.host]) expect(Number(v), report).toBeLessThanOrEqual(ranges[diff.path] ?? 0);
      }
    }
    const updates = session.frames.filter((f) => f.name === 'V2g.EvseUpdateDcChargingParameters' && f.kind === 'request').length;
    expect(r.divergences.length, report).toBeLessThan(updates / 2);
    expect(r.exitCode).toBe(r.divergences.length === 0 ? 0 : 1);

    // The CLI reports the same end and names the first divergence if there is one.
    const cli = await runCli(['sim', '--replay', pcap], { timeoutMs: 120_000 });
    expect(cli.stdout).toMatch(/Reached captured frame (\d+) of \1;/);
    if (r.divergences.length > 0) expect(cli.stdout).toMatch(/FIRST DIVERGENCE: frame \d+ \([\d.]+ s\) V2g\.EvseUpdateDcChargingParameters: host sent other values: present(Voltage|Current)/);
    expect(cli.code).toBe(r.exitCode);
  }, 300_000);
});
