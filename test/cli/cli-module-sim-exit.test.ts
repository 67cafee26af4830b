/**
 * `freev2g module-sim` ends after SIGINT/SIGTERM: cleanup, "module-sim: stopped", exit 0, even
 * though node-pcap's capture handle outlives its close (app/cli.ts `exitSoon` ends the process).
 * Served on one end of a veth pair in a network namespace (needs root and iproute2).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type VethPair, createVethPair, netnsAvailable } from '../helpers/netns.js';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Starts module-sim, waits for `ready` in its output, sends the signal, resolves when it ends. */
function runAndSignal(veth: VethPair, extra: string[], ready: string, signal: NodeJS.Signals): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, 'bin/freev2g.js', 'module-sim', '--role', 'EVSE', '--iface', veth.b.iface, ...extra], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let signalled = false;
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`module-sim did not end (signalled: ${signalled}):\n${out.slice(-2000)}`));
    }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!signalled && out.includes(ready)) {
        signalled = true;
        child.kill(signal);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, sig) => {
      clearTimeout(giveUp);
      resolve({ code, signal: sig, out });
    });
  });
}

describe('module-sim stops on a signal', () => {
  let veth: VethPair | undefined;

  beforeAll(async () => {
    const can = netnsAvailable();
    if (!can.ok) throw new Error(`this test needs root and iproute2 network namespaces: ${can.why}`);
    veth = await createVethPair();
  }, 30_000);

  afterAll(() => veth?.destroy());

  it('SIGINT with the EV station on the far side of the cable: clean stop, exit 0', async () => {
    if (!veth) throw new Error('no veth pair');
    const r = await runAndSignal(veth, [], 'Wait until an EVSE connects', 'SIGINT');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.out).toContain('SIGINT received');
    expect(r.out.trim().split('\n').at(-1)).toBe('module-sim: stopped');
  }, 40_000);

  it('SIGTERM with the scripted stub: exit 0', async () => {
    if (!veth) throw new Error('no veth pair');
    const r = await runAndSignal(veth, ['--stub'], 'cable: plug', 'SIGTERM');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').at(-1)).toBe('module-sim: stopped');
  }, 40_000);
});
