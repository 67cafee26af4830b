/**
 * A central system for the OCPP tests, built on ocpp-rpc's server with strict OCPP 1.6 schema
 * validation (as the charge point is), on a free loopback port. It records every call of the
 * charge point in order and answers with overridable handlers; it can be stopped and started
 * again on the same port (CSMS restart tests) and call the charge point.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { RPCServer } from 'ocpp-rpc';

type Params = Record<string, unknown>;
export type CsmsHandler = (params: Params) => Params | Promise<Params>;

export interface Call {
  method: string;
  params: Params;
}

const DEFAULTS: Record<string, CsmsHandler> = {
  BootNotification: () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }),
  Heartbeat: () => ({ currentTime: new Date().toISOString() }),
  StatusNotification: () => ({}),
  Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
  StartTransaction: () => ({ transactionId: 42, idTagInfo: { status: 'Accepted' } }),
  MeterValues: () => ({}),
  StopTransaction: () => ({}),
  DataTransfer: () => ({ status: 'Accepted' }),
};

export interface Csms {
  url: (id?: string) => string;
  calls: Call[];
  handlers: Record<string, CsmsHandler>;
  /** Calls the connected charge point. */
  call(method: string, params: Params): Promise<Params>;
  connected(): boolean;
  /** Password the charge point sent (basic auth), if any. */
  passwords: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface CsmsOptions {
  port?: number;
  /** wss:// (security profile 2): the server's key and certificate chain (PEM). */
  tls?: { key: string; cert: string };
  /** Basic auth checked: a charge point without this password is refused (HTTP 401). */
  password?: string;
}

export async function startCsms(portOrOptions: number | CsmsOptions = 0): Promise<Csms> {
  const options = typeof portOrOptions === 'number' ? { port: portOrOptions } : portOrOptions;
  const port = options.port ?? 0;
  const calls: Call[] = [];
  const handlers: Record<string, CsmsHandler> = { ...DEFAULTS };
  const passwords: string[] = [];
  let client: { call(m: string, p: Params): Promise<unknown>; handle: unknown } | undefined;
  let server: InstanceType<typeof RPCServer> | undefined;
  let actualPort = port;
  let tlsServer: ReturnType<typeof createHttpsServer> | undefined;

  const start = async (): Promise<void> => {
    server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true } as ConstructorParameters<typeof RPCServer>[0]);
    server.auth((accept, reject, handshake) => {
      const given = handshake.password?.toString('utf8');
      if (given !== undefined) passwords.push(given);
      if (options.password !== undefined && given !== options.password) return reject(401, 'wrong or missing password');
      accept();
    });
    server.on('client', (c: { call(m: string, p: Params): Promise<unknown>; handle(fn: (o: { method: string; params: Params }) => unknown): void }) => {
      client = c;
      c.handle(async ({ method, params }) => {
        calls.push({ method, params });
        const h = handlers[method];
        if (!h) throw new Error(`no handler for ${method}`);
        return h(params);
      });
    });
    if (options.tls) {
      const https = createHttpsServer(options.tls);
      https.on('upgrade', server.handleUpgrade);
      await new Promise<void>((resolve) => https.listen(actualPort, '127.0.0.1', resolve));
      actualPort = (https.address() as AddressInfo).port;
      tlsServer = https;
    } else {
      const http = await server.listen(actualPort, '127.0.0.1');
      actualPort = (http.address() as AddressInfo).port;
    }
  };
  await start();
  return {
    url: (id = 'CP-1') => `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${actualPort}/ocpp/${id}`,
    calls,
    handlers,
    passwords,
    connected: () => client !== undefined,
    async call(method, params) {
      if (!client) throw new Error('no charge point connected');
      return (await client.call(method, params)) as Params;
    },
    async stop() {
      client = undefined;
      await server?.close({ force: true });
      server = undefined;
      if (tlsServer) {
        tlsServer.closeAllConnections();
        await new Promise((r) => tlsServer?.close(r));
        tlsServer = undefined;
      }
    },
    start,
  };
}

/** The calls of one method, in order. */
export const callsOf = (csms: Csms, method: string): Params[] => csms.calls.filter((c) => c.method === method).map((c) => c.params);
