/**
 * Several modules in one `freev2g eth` process: a veth pair between two network namespaces, two
 * `freev2g module-sim --role EVSE` processes with different module MACs on end b (each
 * answering only its own MAC), and one `freev2g eth -c two-evse.json` on end a running both
 * stations, each over its own transport filtered by its module's MAC. Both must reach the
 * charge loop; a SIGTERM must stop charging and the services on both modules and exit 0.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectStations } from '../../app/config.js';
import { BIN, runCli, runProcess, tmp } from '../helpers/app-helpers.js';
import { PROJECT_ROOT, type VethPair, createVethPair, netnsAvailable } from '../helpers/netns.js';

const can = netnsAvailable();
const MACS = ['02:f2:00:00:01:01', '02:f2:00:00:01:02'] as const;

let veth: VethPair | undefined;
const sims: ChildProcessWithoutNullStreams[] = [];

afterAll(() => {
  for (const p of sims) {
    p.kill('SIGCONT');
    p.kill('SIGTERM');
  }
  veth?.destroy();
});

/** `module-sim --role <role> -m <mac>` on end b; resolves once it serves. */
async function startModuleSim(pair: VethPair, mac: string, out: string[], role: 'EVSE' | 'EV' = 'EVSE'): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', pair.b.ns, process.execPath, BIN, 'module-sim', '--role', role, '--iface', pair.b.iface, '-m', mac], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  sims.push(child);
  child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  const end = Date.now() + 20_000;
  while (!out.join('').includes(`module-sim: simulated ${role} module`)) {
    if (Date.now() > end) throw new Error(`module-sim ${mac} did not start: ${out.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Line {
  type: string;
  station?: string;
  phase?: string;
  moduleMac?: string;
  record?: { moduleMac?: string; stopReason?: string };
}

describe.runIf(can.ok)('freev2g eth with a two-station file', () => {
  it('runs both EVSE stations into charging in one process; SIGTERM stops both, exit 0', async () => {
    veth = await createVethPair();
    const pair = veth;
    const simOut: string[][] = [[], []];
    await Promise.all(MACS.map((mac, i) => startModuleSim(pair, mac, simOut[i] as string[])));
    const dir = tmp();
    const config = join(dir, 'two-evse.json');
    writeFileSync(config, JSON.stringify({ stations: MACS.map((mac) => ({ mac, evse: {} })) }));
    const pcap = join(dir, 'multi.pcap');
    const records = join(dir, 'records.jsonl');

    const charging = new Set<string>();
    let sent = false;
    const r = await runProcess('ip', ['netns', 'exec', pair.a.ns, process.execPath, BIN, 'eth', '-i', pair.a.iface, '-c', config, '--log-format', 'json', '--records', records, '--capture', pcap], {
      timeoutMs: 35_000,
      onStdout: (out, child) => {
        for (const m of out.matchAll(/"phase":"charging"[^\n]*"moduleMac":"([0-9a-f:]+)"/g)) charging.add(m[1] as string);
        if (!sent && charging.size === 2) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    const why = `${r.stdout.slice(-2000)}\n${r.stderr}\n${simOut.map((o) => o.join('').slice(-800)).join('\n')}`;
    expect([...charging].sort(), why).toEqual([...MACS]);
    expect(r.code, why).toBe(0);

    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    // Every station line names its module; both sessions end on the shutdown, one record each.
    expect(lines.filter((l) => l.type === 'log' && l.moduleMac === undefined)).toEqual([]);
    const ends = lines.filter((l) => l.type === 'sessionEnded').map((l) => [l.record?.moduleMac, l.record?.stopReason]);
    expect(ends.sort()).toEqual(MACS.map((m) => [m, 'shutdown']));

    // The capture holds both modules' traffic; each got its own clean stop.
    const decoded = await runCli(['decode', '--pcap', pcap], { timeoutMs: 30_000 });
    const frames = decoded.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { src: string; dst: string; message: string; direction: string });
    for (const mac of MACS) {
      const requests = frames.filter((f) => f.direction === 'request' && f.dst === mac).map((f) => f.message);
      const tail = requests.slice(requests.lastIndexOf('EvseStopCharging'));
      expect(tail[0], mac).toBe('EvseStopCharging');
      expect(tail, mac).toEqual(expect.arrayContaining(['EvseStopListen', 'StopSlac', 'Stop']));
    }
  }, 45_000);

  it('a station whose module does not answer warns and keeps trying its set-up; the other charges on; SIGTERM stops both, exit 0', async () => {
    veth?.destroy();
    veth = await createVethPair();
    const pair = veth;
    const simOut: string[] = [];
    await startModuleSim(pair, MACS[0], simOut);
    const dir = tmp();
    const config = join(dir, 'two-evse.json');
    // The second module is not there: its station's first request times out.
    writeFileSync(config, JSON.stringify({ stations: MACS.map((mac) => ({ mac, evse: {} })) }));
    const retrying = `EVSE ${MACS[1]} | Module set-up failed`;
    let sent = false;
    let stopTimer: NodeJS.Timeout | undefined;
    const r = await runProcess('ip', ['netns', 'exec', pair.a.ns, process.execPath, BIN, 'eth', '-i', pair.a.iface, '-c', config, '--no-records'], {
      timeoutMs: 60_000,
      onStdout: (out, child) => {
        // Safety net: stop after 50 s so a failure shows the log instead of a timeout. The silent
        // module's station asks for 30 s before its set-up has failed (a module may be restarting, #72).
        if (!stopTimer) stopTimer = setTimeout(() => child.kill('SIGTERM'), 50_000);
        if (!sent && out.includes(retrying) && new RegExp(`EVSE ${MACS[0]} \\| .*[Cc]harg`).test(out)) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    clearTimeout(stopTimer);
    const why = `${r.stdout
      .split('\n')
      .filter((l) => !l.startsWith(`EVSE ${MACS[0]}`))
      .join('\n')}\n${r.stderr}\n${simOut.join('').slice(-800)}`;
    expect(sent, why).toBe(true);
    expect(r.code, why).toBe(0);
    // The silent module's station said what failed and when it tries again (machines/setup-retry.ts);
    // it does not give up (a service keeps trying until stopped).
    expect(r.stdout).toMatch(
      new RegExp(`EVSE ${MACS[1]} \\| Module set-up failed \\(System\\.GetFirmwareVersion: no response within \\d+ ms; no answer for 3\\d s \\(module not started\\)\\): trying again in 5 s, at `),
    );
    expect(r.stdout).not.toContain('the station failed');
    // The other charged on, and its own session ended on the shutdown.
    expect(r.stdout).toContain(`EVSE ${MACS[0]} | Stop charging`);
  }, 75_000);
});

describe('selecting the stations eth runs', () => {
  const file = (): string => {
    const f = join(tmp(), 'three.json');
    writeFileSync(
      f,
      JSON.stringify({
        stations: [
          { mac: MACS[0], evse: {} },
          { mac: MACS[1], evse: {} },
          { mac: '02:f2:00:00:01:03', ev: {} },
        ],
      }),
    );
    return f;
  };

  it('takes every station of the file, those of -r, or the one of -m', () => {
    const f = file();
    const macs = (o: Parameters<typeof selectStations>[1]) => selectStations(f, { ...o, env: {} }).map((s) => `${s.role} ${s.mac}`);
    expect(macs({})).toEqual([`EVSE ${MACS[0]}`, `EVSE ${MACS[1]}`, 'EV 02:f2:00:00:01:03']);
    expect(macs({ role: 'EVSE' })).toEqual([`EVSE ${MACS[0]}`, `EVSE ${MACS[1]}`]);
    expect(macs({ role: 'EV' })).toEqual(['EV 02:f2:00:00:01:03']);
    expect(macs({ mac: MACS[1].toUpperCase() })).toEqual([`EVSE ${MACS[1]}`]);
    expect(() => macs({ role: 'EVSE', mac: '02:f2:00:00:01:09' })).toThrow(/no station of role EVSE with MAC 02:f2:00:00:01:09/);
  });

  it('a single-station file is the one-element case; -m sets its MAC', () => {
    expect(selectStations(undefined, { role: 'EV', mac: '02:f2:00:00:00:42', env: {} }).map((s) => [s.role, s.mac])).toEqual([['EV', '02:f2:00:00:00:42']]);
  });

  it('refuses two stations on one MAC (their transports would share frames), exit 3', () => {
    const f = join(tmp(), 'dup.json');
    writeFileSync(f, JSON.stringify({ stations: [{ evse: {} }, { evse: {} }] }));
    expect(() => selectStations(f, { env: {} })).toThrow(/two stations with MAC 00:01:01:63:77:33/);
  });

  it('eth without -c needs -r (exit 2)', async () => {
    const r = await runCli(['eth', '-i', 'nosuch0', '--no-records']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-r (EVSE or EV) is required without -c');
  });
});
