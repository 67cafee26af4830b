/**
 * `freev2g eth` end to end over raw Ethernet: a veth pair between two network namespaces, the
 * simulated EVSE module served by `freev2g module-sim` on one end (its virtual cable driven by
 * the project's EV station), and the real `freev2g eth -r EVSE` on the other. The session runs
 * into charging, then SIGTERM must stop charging and the module services and exit 0.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type VethPair, createVethPair, netnsAvailable } from './helpers/netns.js';
import { BIN, runCli, runProcess, tmp } from './app-helpers.js';

const can = netnsAvailable();

describe.runIf(can.ok)('freev2g eth on a veth pair against module-sim', () => {
  let veth: VethPair | undefined;
  let sim: ChildProcessWithoutNullStreams | undefined;
  const simOut: string[] = [];

  beforeAll(async () => {
    veth = await createVethPair();
    sim = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, BIN, 'module-sim', '--role', 'EVSE', '--iface', veth.b.iface], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    sim.stdout.on('data', (d: Buffer) => simOut.push(d.toString()));
    sim.stderr.on('data', (d: Buffer) => simOut.push(d.toString()));
    const end = Date.now() + 30_000;
    while (!simOut.join('').includes('module-sim: simulated EVSE module')) {
      if (Date.now() > end) throw new Error(`module-sim did not start: ${simOut.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(() => {
    sim?.kill('SIGCONT');
    sim?.kill('SIGTERM');
    veth?.destroy();
  });

  it('runs the EVSE station into charging; SIGTERM stops charging and the services, exit 0', async () => {
    if (!veth) throw new Error('no veth pair');
    const pcap = join(tmp(), 'eth.pcap');
    let sent = false;
    const r = await runProcess(
      'ip',
      ['netns', 'exec', veth.a.ns, process.execPath, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', 'EVSE', '-p', '--log-format', 'json', '--no-records', '--capture', pcap],
      {
        timeoutMs: 110_000,
        onStdout: (out, child) => {
          if (!sent && /"phase":"charging"/.test(out)) {
            sent = true;
            child.kill('SIGTERM');
          }
        },
      },
    );
    expect(sent, `${r.stdout.slice(-1500)}\n${r.stderr}\n${simOut.join('').slice(-1500)}`).toBe(true);
    expect(r.code).toBe(0);
    const decoded = await runCli(['decode', '--pcap', pcap], { timeoutMs: 60_000 });
    const frames = decoded.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { src: string; dst: string; message: string; direction: string });
    // Real addresses: the host interface and the module's.
    expect(frames[0]).toMatchObject({ src: veth.a.mac, dst: veth.b.mac });
    const requests = frames.filter((f) => f.direction === 'request').map((f) => f.message);
    expect(requests).toContain('SetPortMirrorState');
    expect(requests).toContain('EvseStartListen');
    const tail = requests.slice(requests.lastIndexOf('EvseStopCharging'));
    expect(tail.slice(0, 1)).toEqual(['EvseStopCharging']);
    expect(tail).toEqual(expect.arrayContaining(['EvseStopListen', 'StopSlac', 'Stop']));
  }, 120_000);

  it('a second signal during a stuck clean stop exits at once with 130', async () => {
    if (!veth || !sim) throw new Error('no veth pair');
    const module = sim;
    let stage = 0;
    const r = await runProcess(
      'ip',
      ['netns', 'exec', veth.a.ns, process.execPath, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', 'EVSE', '--log-format', 'json', '--no-records'],
      {
        timeoutMs: 110_000,
        onStdout: (out, child) => {
          if (stage === 0 && /"phase":"charging"/.test(out)) {
            stage = 1;
            // The module stops answering: the clean stop waits for its responses.
            module.kill('SIGSTOP');
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGTERM'), 300);
          }
        },
      },
    );
    module.kill('SIGCONT');
    expect(stage).toBe(1);
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('freev2g: second SIGTERM, exiting now\n');
  }, 120_000);

  it('names a missing interface in one line, exit 4', async () => {
    const r = await runCli(['eth', '-i', 'nosuch0', '-r', 'EVSE', '--no-records']);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('nosuch0');
  });
});

describe.runIf(can.ok)('freev2g eth -r EV on a veth pair against module-sim', () => {
  let veth: VethPair | undefined;
  let sim: ChildProcessWithoutNullStreams | undefined;
  const simOut: string[] = [];

  beforeAll(async () => {
    veth = await createVethPair();
    sim = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, BIN, 'module-sim', '--role', 'EV', '--iface', veth.b.iface], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    sim.stdout.on('data', (d: Buffer) => simOut.push(d.toString()));
    sim.stderr.on('data', (d: Buffer) => simOut.push(d.toString()));
    const end = Date.now() + 30_000;
    while (!simOut.join('').includes('module-sim: simulated EV module')) {
      if (Date.now() > end) throw new Error(`module-sim did not start: ${simOut.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(() => {
    sim?.kill('SIGTERM');
    veth?.destroy();
  });

  it('runs the EV station into charging with live samples; SIGINT stops the session, exit 0', async () => {
    if (!veth) throw new Error('no veth pair');
    let sent = false;
    const r = await runProcess(
      'ip',
      ['netns', 'exec', veth.a.ns, process.execPath, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', 'EV', '--log-format', 'json', '--no-records'],
      {
        timeoutMs: 110_000,
        onStdout: (out, child) => {
          if (!sent && /"type":"sample","station":"EV"[^\n]*"socPercent"/.test(out) && /"phase":"charging"/.test(out)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(sent, `${r.stdout.slice(-1500)}\n${r.stderr}\n${simOut.join('').slice(-1500)}`).toBe(true);
    expect(r.code).toBe(0);
    const texts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; text?: string })
      .filter((l) => l.type === 'log')
      .map((l) => l.text);
    expect(texts).toContain('Set the CP mode to EV');
    expect(texts).toContain('Stop charging');
  }, 120_000);
});
