/**
 * `freev2g eth` end to end over raw Ethernet: a veth pair between two network namespaces, a
 * simulated module served by `freev2g module-sim` on one end (its virtual cable driven by the
 * project's other station), and the real `freev2g eth` on the other. Each test gets a fresh pair
 * and module. The session runs into charging, then a signal must stop charging and the module
 * services and exit 0.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type VethPair, createVethPair, netnsAvailable } from '../helpers/netns.js';
import { BIN, type CliOptions, runCli, runProcess, tmp } from '../helpers/app-helpers.js';

const can = netnsAvailable();

interface ModuleSim {
  veth: VethPair;
  process: ChildProcessWithoutNullStreams;
  out: string[];
}

const running: ModuleSim[] = [];

/** A veth pair with `module-sim --role <role>` serving on end b. */
async function startModuleSim(role: 'EVSE' | 'EV'): Promise<ModuleSim> {
  const veth = await createVethPair();
  const child = spawn('ip', ['netns', 'exec', veth.b.ns, process.execPath, BIN, 'module-sim', '--role', role, '--iface', veth.b.iface], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const sim: ModuleSim = { veth, process: child, out: [] };
  running.push(sim);
  child.stdout.on('data', (d: Buffer) => sim.out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => sim.out.push(d.toString()));
  const end = Date.now() + 30_000;
  while (!sim.out.join('').includes(`module-sim: simulated ${role} module`)) {
    if (Date.now() > end) throw new Error(`module-sim did not start: ${sim.out.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return sim;
}

/** `freev2g eth` in namespace a, talking to the module on end b. */
function runEth(sim: ModuleSim, role: 'EVSE' | 'EV', extra: string[], o: CliOptions) {
  const { veth } = sim;
  return runProcess('ip', ['netns', 'exec', veth.a.ns, process.execPath, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', role, '--log-format', 'json', '--no-records', ...extra], {
    timeoutMs: 110_000,
    ...o,
  });
}

afterEach(() => {
  for (const sim of running.splice(0)) {
    sim.process.kill('SIGCONT');
    sim.process.kill('SIGTERM');
    sim.veth.destroy();
  }
});

describe.runIf(can.ok)('freev2g eth on a veth pair against module-sim', () => {
  it('runs the EVSE station into charging; SIGTERM stops charging and the services, exit 0', async () => {
    const sim = await startModuleSim('EVSE');
    const pcap = join(tmp(), 'eth.pcap');
    let sent = false;
    const r = await runEth(sim, 'EVSE', ['-p', '--capture', pcap], {
      onStdout: (out, child) => {
        if (!sent && /"phase":"charging"/.test(out)) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(sent, `${r.stdout.slice(-1500)}\n${r.stderr}\n${sim.out.join('').slice(-1500)}`).toBe(true);
    expect(r.code).toBe(0);
    const decoded = await runCli(['decode', '--pcap', pcap], { timeoutMs: 60_000 });
    const frames = decoded.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { src: string; dst: string; message: string; direction: string });
    // Real addresses: the host interface and the module's.
    expect(frames[0]).toMatchObject({ src: sim.veth.a.mac, dst: sim.veth.b.mac });
    const requests = frames.filter((f) => f.direction === 'request').map((f) => f.message);
    expect(requests).toContain('SetPortMirrorState');
    expect(requests).toContain('EvseStartListen');
    const tail = requests.slice(requests.lastIndexOf('EvseStopCharging'));
    expect(tail.slice(0, 1)).toEqual(['EvseStopCharging']);
    expect(tail).toEqual(expect.arrayContaining(['EvseStopListen', 'StopSlac', 'Stop']));
  }, 150_000);

  it('a second signal during a stuck clean stop exits at once with 130', async () => {
    const sim = await startModuleSim('EVSE');
    let stage = 0;
    const r = await runEth(sim, 'EVSE', [], {
      onStdout: (out, child) => {
        if (stage === 0 && /"phase":"charging"/.test(out)) {
          stage = 1;
          // The module stops answering: the clean stop waits for its responses.
          sim.process.kill('SIGSTOP');
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGTERM'), 300);
        }
      },
    });
    sim.process.kill('SIGCONT');
    expect(stage, `${r.stdout.slice(-1500)}\n${r.stderr}\n${sim.out.join('').slice(-1500)}`).toBe(1);
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('freev2g: second SIGTERM, exiting now\n');
  }, 150_000);

  it('runs the EV station into charging with live samples; SIGINT stops the session, exit 0', async () => {
    const sim = await startModuleSim('EV');
    let sent = false;
    const r = await runEth(sim, 'EV', [], {
      onStdout: (out, child) => {
        if (!sent && /"type":"sample","station":"EV"[^\n]*"socPercent"/.test(out) && /"phase":"charging"/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent, `${r.stdout.slice(-1500)}\n${r.stderr}\n${sim.out.join('').slice(-1500)}`).toBe(true);
    expect(r.code).toBe(0);
    const texts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; text?: string })
      .filter((l) => l.type === 'log')
      .map((l) => l.text);
    expect(texts).toContain('Set the CP mode to EV');
    expect(texts).toContain('Stop charging');
  }, 150_000);

  it('names a missing interface in one line, exit 4', async () => {
    const r = await runCli(['eth', '-i', 'nosuch0', '-r', 'EVSE', '--no-records']);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('nosuch0');
  });
});
