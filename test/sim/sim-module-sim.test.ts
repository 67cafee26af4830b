/**
 * `freev2g module-sim` over a veth pair between two network namespaces: a host on one end talks
 * HCI over Ethernet (9.1) to the simulated EVSE module served on the other end, whose virtual
 * cable has the project's EV station on its far side; last, the project's EVSE station (freev2g
 * eth) runs a session against it into the charge loop. Wall-clock waits here are only for
 * processes and the kernel, never assertions on speed.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeRequest } from '../../codec/catalog.js';
import { bytesToHex, hexToBytes, parseFrame } from '../../codec/frame.js';
import { ControlPilot, System } from '../../codec/catalog.js';
import { PROJECT_ROOT, type NsChild, type VethPair, createVethPair, netnsAvailable, spawnInNamespace } from '../helpers/netns.js';

describe('module-sim serves a simulated EVSE module over raw Ethernet', () => {
  let veth: VethPair | undefined;
  let host: NsChild;
  let sim: ChildProcessWithoutNullStreams | undefined;
  const simOut: string[] = [];

  beforeAll(async () => {
    const can = netnsAvailable();
    if (!can.ok) throw new Error(`this test needs root and iproute2 network namespaces: ${can.why}`);
    veth = await createVethPair();
    sim = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, 'bin/freev2g.js', 'module-sim', '--role', 'EVSE', '--iface', veth.b.iface, '-v'], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    sim.stdout.on('data', (d: Buffer) => simOut.push(d.toString()));
    sim.stderr.on('data', (d: Buffer) => simOut.push(d.toString()));
    const end = Date.now() + 20_000;
    while (!simOut.join('').includes('module-sim: simulated EVSE module')) {
      if (Date.now() > end) throw new Error(`module-sim did not start: ${simOut.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    host = spawnInNamespace(veth.a.ns, 'test/helpers/eth-node.ts', { iface: veth.a.iface, peerMac: veth.b.mac, role: 'host' });
    const ready = await host.waitFor((l) => l.ev === 'ready' || l.ev === 'openError', 20_000);
    if (ready.ev !== 'ready') throw new Error(`host failed to open: ${JSON.stringify(ready)}`);
  }, 60_000);

  afterAll(() => {
    host?.kill();
    sim?.kill('SIGTERM');
    veth?.destroy();
  });

  /** Sends a request and returns the decoded answer with the same module/Sub-ID/request ID. */
  async function ask(frame: Uint8Array) {
    const from = host.count;
    await host.request({ op: 'send', hex: bytesToHex(frame) });
    const line = await host.waitFor((l) => l.ev === 'frame' && String(l.hex).slice(2, 8) === bytesToHex(frame).slice(2, 8), 10_000, from);
    const p = parseFrame(hexToBytes(String(line.hex)));
    if ('error' in p) throw new Error(p.error.detail);
    const r = decodeMessage(p.frame, { direction: 'toHost' });
    if (!r.ok) throw new Error(r.error.detail);
    return r.message.fields;
  }

  it('answers System Get Firmware Version with the EVSE firmware string, from its MAC', async () => {
    expect(await ask(encodeRequest(System.GetFirmwareVersion, 1, {}))).toEqual({ code: 0, version: 'V02_00_01' });
    expect(await ask(encodeRequest(System.GetMacAddress, 2, {}))).toEqual({ code: 0, mac: hexToBytes(veth?.b.mac ?? '') });
  });

  it('reports the car plugging in on the virtual cable (CP state B)', async () => {
    expect(await ask(encodeRequest(ControlPilot.SetMode, 3, { mode: 1 }))).toEqual({ code: 0 });
    expect(await ask(encodeRequest(ControlPilot.Start, 4, {}))).toEqual({ code: 0 });
    const end = Date.now() + 15_000;
    let state = 0;
    while (state !== 1 && Date.now() < end) {
      state = (await ask(encodeRequest(ControlPilot.GetState, 5, {}))).state as number;
      if (state !== 1) await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe(1);
    expect(simOut.join('')).toContain('cable: plug');
    // The EV side is the project's own EV station (machines/), not the fallback stub.
    expect(simOut.join('')).not.toContain('not available');
    expect(simOut.join('')).toContain('WHITE-beet-PI firmware version: V01_00_06');
  }, 30_000);

  it('carries a whole EVSE station (freev2g eth) into the charge loop against the simulated car', async () => {
    if (!veth) throw new Error('no veth pair');
    const station = spawn('ip', ['netns', 'exec', veth.a.ns, process.execPath, 'bin/freev2g.js', 'eth', '-r', 'EVSE', '-i', veth.a.iface, '-m', veth.b.mac, '--no-ask', '--no-records'], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    station.stdout.on('data', (d: Buffer) => lines.push(d.toString()));
    station.stderr.on('data', (d: Buffer) => lines.push(d.toString()));
    try {
      const end = Date.now() + 40_000;
      while (!lines.join('').includes('"Start Charging Requested" received') && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const text = lines.join('');
      // On failure: the station's output and the module's frames (module-sim -v), for the race hunt.
      const why = `${text.slice(-1500)}\n----- module-sim -----\n${simOut.join('').slice(-4000)}`;
      expect(text, why).toContain('WHITE-beet-EI firmware version: V02_00_01');
      expect(text, why).toContain('SLAC matching successful');
      expect(text, why).toContain('"Session started" received');
      expect(text, why).toContain('"Start Charging Requested" received');
    } finally {
      station.kill('SIGTERM');
      await new Promise((r) => station.once('exit', r));
    }
  }, 60_000);
});
