/**
 * `--mqtt embedded[:port]`: an MQTT broker inside the process (aedes) on 127.0.0.1, for a
 * single-box set-up where nothing else runs a broker. Other programs on the machine connect to
 * mqtt://127.0.0.1:<port> (default 1883) like to any broker.
 */
import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_MQTT_PORT = 1883;

export async function startEmbeddedBroker(port = DEFAULT_MQTT_PORT, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `embedded MQTT broker: port ${port} on ${host} is in use` : `embedded MQTT broker: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host}:${actual}`,
    port: actual,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** "embedded" -> 1883, "embedded:0" -> any free port; anything else is a broker URL (undefined). */
export function embeddedPort(spec: string): number | undefined {
  const m = /^embedded(?::(\d{1,5}))?$/.exec(spec);
  if (!m) return undefined;
  const port = m[1] === undefined ? DEFAULT_MQTT_PORT : Number(m[1]);
  if (port > 65535) throw new Error(`--mqtt embedded:<port>: port must be 0-65535, got ${port}`);
  return port;
}
