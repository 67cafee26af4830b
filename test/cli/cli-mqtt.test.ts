/**
 * The control API from the command line: `sim --mqtt embedded:0` serves its own broker and a
 * client steers the station through it; against mosquitto, a host killed with SIGKILL is marked
 * offline by its last will; flag errors are usage errors.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/netns.js';
import { type Mosquitto, collector, startMosquitto } from '../helpers/mosquitto.js';

const BIN = `${PROJECT_ROOT}bin/freev2g.js`;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker.destroy();
});

/** Starts `freev2g sim ...` and resolves each line matching `re` as it comes. */
function sim(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'sim', '--no-records', '--sessions', '0', '--speed', '1', ...args], { cwd: PROJECT_ROOT });
  children.push(child);
  const lines: string[] = [];
  const waiting: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiting.splice(0)) {
      const m = l.match(w.re);
      if (m) w.resolve(m);
      else waiting.push(w);
    }
  });
  return {
    child,
    lines,
    line: (re: RegExp, ms = 15_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const seen = lines.map((l) => l.match(re)).find((m) => m);
        if (seen) return resolve(seen);
        const t = setTimeout(() => reject(new Error(`no line ${re} within ${ms} ms; got:\n${lines.join('\n')}`)), ms);
        waiting.push({ re, resolve: (m) => (clearTimeout(t), resolve(m)) });
      }),
  };
}

describe('freev2g sim --mqtt', () => {
  it('embedded broker: a client reads the retained state and disables the station', async () => {
    const s = sim(['--mqtt', 'embedded:0']);
    const [, url] = await s.line(/MQTT broker \(embedded\): (mqtt:\/\/127\.0\.0\.1:\d+)/);
    const c = await connectAsync(url as string);
    try {
      const msgs = collector(c);
      await c.subscribeAsync('freev2g/evse/#');
      expect(await msgs.next('freev2g/evse/online')).toBe('true');
      const reply = msgs.next('freev2g/evse/reply/disable');
      await c.publishAsync('freev2g/evse/cmd/disable', '{}');
      expect(JSON.parse(await reply)).toMatchObject({ ok: true, station: 'evse' });
      expect(await msgs.next('freev2g/evse/state/available', (t) => t === 'false')).toBe('false');
    } finally {
      await c.endAsync();
    }
  });

  it('mosquitto: the last will marks a killed host offline', async () => {
    const s = sim(['--mqtt', broker.url, '--mqtt-prefix', 'lwt']);
    const c = await broker.client();
    const msgs = collector(c);
    await c.subscribeAsync('lwt/evse/online');
    expect(await msgs.next('lwt/evse/online', (t) => t === 'true', 15_000)).toBe('true');
    s.child.kill('SIGKILL');
    expect(await msgs.next('lwt/evse/online', (t) => t === 'false', 10_000)).toBe('false');
  });

  it('refuses a bad broker URL and a public HTTP address without a token (exit 2)', () => {
    const bad = spawnSync(process.execPath, [BIN, 'sim', '--mqtt', 'localhost:1883'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--mqtt must be a broker URL/);
    const open = spawnSync(process.execPath, [BIN, 'sim', '--inspect', '0', '--http-host', '0.0.0.0'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/--http-token/);
  });
});
