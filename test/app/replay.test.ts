/**
 * `freev2g sim --replay` (issue 9, item 5): captures made with `--capture` of a simulated session
 * replay against our hosts with no divergence; a capture altered on purpose diverges, and the
 * report points at the altered frame. pcapng (as Wireshark writes it) comes from the real
 * `editcap`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter, readPcap, unwrapEthernet, wrapEthernet } from '../../app/capture.js';
import { loadStation } from '../../app/config.js';
import { loadCapturedSession } from '../../app/replay/captured.js';
import { runReplay } from '../../app/replay/run.js';
import { computeChecksum } from '../../codec/frame.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

/** A short session: the car starts at 94 % of its 50 kWh and stops at 95 %. */
const SHORT = { FREEV2G_EV__BATTERY__LEVEL: '47000' };
const dir = tmp();
const pcap = { EVSE: join(dir, 'evse.pcap'), EV: join(dir, 'ev.pcap') };

// The replaying host runs with the captured host's configuration.
const replay = (capture: string, stallMs?: number) => runReplay({ capture, settingsFor: (role) => loadStation(undefined, role), ...(stallMs ? { stallMs } : {}) });

beforeAll(async () => {
  Object.assign(process.env, SHORT);
  for (const role of ['EVSE', 'EV'] as const) {
    const r = await runCli(['sim', '--speed', 'max', '-r', role, '--no-records', '--log-format', 'json', '--capture', pcap[role]], { env: SHORT, timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(0);
  }
}, 360_000);

/** A copy of the capture with one byte of one captured HCI frame changed (checksum made right). */
function alter(src: string, dst: string, frameNo: number, hciOffset: number, value: number): void {
  const { records } = readPcap(src);
  const out = new PcapWriter(dst);
  let n = 0;
  for (const rec of records) {
    const eth = unwrapEthernet(rec.data);
    if (eth && ++n === frameNo) {
      const hci = eth.hci.slice();
      hci[hciOffset] = value;
      hci[hci.length - 2] = computeChecksum(hci, 0, hci.length, hci.length - 2);
      const mac = (s: string): Uint8Array => Uint8Array.from(s.split(':').map((x) => parseInt(x, 16)));
      out.write({ atMs: rec.atMs, data: wrapEthernet(mac(eth.dst), mac(eth.src), hci) });
    } else out.write(rec);
  }
  out.close();
}

/** A copy of the capture with each Ethernet record whose HCI frame matches `pick` written `times` times. */
function repeatRecords(src: string, dst: string, pick: (hci: Uint8Array) => boolean, times: number): void {
  const { records } = readPcap(src);
  const out = new PcapWriter(dst);
  for (const rec of records) {
    const eth = unwrapEthernet(rec.data);
    for (let i = eth && pick(eth.hci) ? times : 1; i > 0; i--) out.write(rec);
  }
  out.close();
}

describe('sim --replay', () => {
  it('replays an EVSE capture to its end with no divergence, the role taken from the capture (CLI, exit 0)', async () => {
    const r = await runCli(['sim', '--replay', pcap.EVSE], { env: SHORT, timeoutMs: 170_000 });
    expect(r.stdout).toContain('EVSE host against module 00:01:01:63:77:33');
    expect(r.stdout).toContain('Result: the host follows the capture (exit 0)');
    expect(r.stdout).toMatch(/Reached captured frame (\d+) of \1;/);
    expect(r.code).toBe(0);
  }, 180_000);

  it('replays an EV capture, read as pcapng written by editcap, to the same phases', async () => {
    const ng = join(dir, 'ev.pcapng');
    execFileSync('editcap', ['-F', 'pcapng', pcap.EV, ng]);
    const r = await replay(ng);
    expect(r.role).toBe('EV');
    expect(r.divergences).toEqual([]);
    expect(r.reachedFrameNo).toBe(r.totalFrames);
    expect(r.phases).toEqual(expect.arrayContaining(['charging', 'sessionStopped', 'stopped']));
    expect(r.exitCode).toBe(0);
  }, 120_000);

  it('points at the frame where the captured host asked for something else (altered capture, exit 1)', async () => {
    const session = loadCapturedSession(pcap.EVSE);
    // The captured host's first 5 % duty cycle (SetDutyCycle, 11.3.3): make it 10 % in the capture.
    const target = session.frames.find((f) => f.name === 'ControlPilot.SetDutyCycle' && f.kind === 'request' && f.fields?.dutyCyclePermill === 50);
    expect(target).toBeDefined();
    const altered = join(dir, 'altered.pcap');
    alter(pcap.EVSE, altered, target?.frameNo ?? 0, 6 + 1, 100);
    const r = await replay(altered);
    expect(r.exitCode).toBe(1);
    expect(r.divergences[0]).toMatchObject({ kind: 'fields', captured: { frameNo: target?.frameNo }, differences: [{ path: 'dutyCyclePermill', captured: 100, host: 50 }] });
    expect(r.lines.find((l) => l.startsWith('FIRST DIVERGENCE'))).toContain(`frame ${target?.frameNo} `);
    // One changed request, the rest of the session is the same flow.
    expect(r.divergences).toHaveLength(1);
  }, 120_000);

  it('a captured host that made more state reads (timed re-reads under load) holds no status back', async () => {
    // SLAC Get State (16.4.6, module 0x28 Sub-ID 0x45), request and answer, each captured 12 times:
    // a live host slowed by load re-reads more often before SLAC's result than the replaying host.
    const reads = loadCapturedSession(pcap.EVSE).frames.filter((f) => f.name === 'Slac.GetState');
    expect(reads.length).toBeGreaterThan(0);
    const more = join(dir, 'more-reads.pcap');
    repeatRecords(pcap.EVSE, more, (hci) => hci[1] === 0x28 && hci[2] === 0x45, 12);
    const r = await replay(more, 10_000);
    const counts = /state reads: host (\d+), capture (\d+)/.exec(r.lines.join('\n'));
    expect(Number(counts?.[2])).toBeGreaterThanOrEqual(reads.filter((f) => f.kind === 'request').length * 12);
    expect(Number(counts?.[1])).toBeLessThan(Number(counts?.[2]));
    expect(r.divergences).toEqual([]);
    expect(r.reachedFrameNo).toBe(r.totalFrames);
    expect(r.phases).toEqual(expect.arrayContaining(['slac', 'charging', 'sessionStopped', 'stopped']));
    expect(r.exitCode).toBe(0);
  }, 120_000);

  it('reports a request the captured host never made, and a stall when the host stops following', async () => {
    const session = loadCapturedSession(pcap.EV);
    // Turn the captured host's Set Mode (CP 11.3.1) into a request of another Sub-ID the host never sends.
    const target = session.frames.find((f) => f.name === 'ControlPilot.SetMode' && f.kind === 'request');
    expect(target).toBeDefined();
    const altered = join(dir, 'missing.pcap');
    alter(pcap.EV, altered, target?.frameNo ?? 0, 2, 0x7e); // a Sub-ID no host sends
    const r = await replay(altered, 10_000);
    expect(r.exitCode).toBe(1);
    const kinds = r.divergences.map((d) => d.kind);
    // The host's Set Mode finds no captured match (and no answer: it retries, then gives up).
    expect(r.divergences[0]).toMatchObject({ kind: 'unexpected', name: 'ControlPilot.SetMode' });
    expect(kinds).toContain('missing');
    expect(r.divergences.find((d) => d.kind === 'missing')).toMatchObject({ captured: { frameNo: target?.frameNo } });
    // The stall: the replayer answers the host's Pings (the module is alive) but never its Set Mode,
    // so the set-up fails; the host tries it again after 5 s (machines/setup-retry.ts) and never
    // gets past it while the capture goes on, until the replay ends.
    expect(r.phases).toEqual(['setUpRetry', 'initialising', 'shuttingDown', 'stopped']);
  }, 120_000);
});
