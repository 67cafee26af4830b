/**
 * A real MQTT broker for the control API tests: Debian's mosquitto on a free loopback port, with
 * its own config file (anonymous clients, no persistence), stopped and started again at will
 * (broker loss tests). `.ci/run` installs the package.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';

export interface Mosquitto {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A test client connected to the broker. */
  client(): Promise<MqttClient>;
  /** Stops the broker and removes its files. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
      await c.endAsync();
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startMosquitto(): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'freev2g-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  let proc: ChildProcess | undefined;
  const clients: MqttClient[] = [];
  const start = async (): Promise<void> => {
    proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    await waitListening(port);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    start,
    stop,
    async client() {
      const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200 });
      clients.push(c);
      return c;
    },
    async destroy() {
      for (const c of clients) await c.endAsync(true).catch(() => undefined);
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects messages of a subscription; `next(topic)` waits (real time) for the next one on it. */
export function collector(client: MqttClient) {
  const seen: Array<{ topic: string; text: string; retain: boolean }> = [];
  /** Per topic: how many of its messages `next` has handed out already. */
  const taken = new Map<string, number>();
  const wake = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, text: payload.toString('utf8'), retain: packet.retain });
    for (const w of [...wake]) w();
  });
  /** The first message on `topic` not handed out yet that passes `pred` (the ones before it are skipped). */
  const take = (topic: string, pred: (text: string) => boolean): string | undefined => {
    const onTopic = seen.filter((m) => m.topic === topic);
    for (let i = taken.get(topic) ?? 0; i < onTopic.length; i++) {
      const m = onTopic[i] as { text: string };
      if (pred(m.text)) {
        taken.set(topic, i + 1);
        return m.text;
      }
    }
    return undefined;
  };
  return {
    seen,
    /** The next message on `topic` (optionally one whose text passes `pred`), within `ms` real time. */
    next(topic: string, pred: (text: string) => boolean = () => true, ms = 5000): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const text = take(topic, pred);
          if (text === undefined) return;
          wake.delete(check);
          clearTimeout(timer);
          resolve(text);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`no message on ${topic} within ${ms} ms`));
        }, ms);
        wake.add(check);
        check();
      });
    },
  };
}
