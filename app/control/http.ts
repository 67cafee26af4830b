/**
 * The control API on the dashboard's HTTP server (`--inspect`), the same commands as over MQTT:
 *
 *   GET  /api/stations                     every station's state (JSON array)
 *   GET  /api/stations/<id>                one station's state
 *   POST /api/stations/<id>/<command>      stop | enable | disable | setLimits | authorize, JSON
 *                                          body (may be empty); answers the CommandReply with
 *                                          200 (done or nothing to do), 400, 404 or 401
 *   GET  /metrics                          Prometheus text format
 *   WS   /api/ws                           pushes every ControlEvent as JSON; takes commands as
 *                                          { "station": id, "command": ..., ...fields, "id"? }
 *                                          and answers each with its reply (id echoed)
 *
 * With a token (`--http-token`, required when the server listens beyond 127.0.0.1) every /api
 * and /metrics request needs `Authorization: Bearer <token>` (WebSocket: also `?token=`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { StationController } from './controller.js';
import type { StationMetrics } from './metrics.js';

export interface HttpRoutes {
  /** Handles the request if it is the API's; returns false to let the dashboard serve it. */
  request(req: IncomingMessage, res: ServerResponse): boolean;
  /** Handles a WebSocket upgrade if it is the API's. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

const MAX_BODY = 16 * 1024;

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

export function httpRoutes(controller: StationController, metrics: StationMetrics | undefined, token: string | undefined): HttpRoutes {
  const authorized = (req: IncomingMessage, url: URL): boolean => {
    if (token === undefined) return true;
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    return sameToken(bearer, token) || sameToken(url.searchParams.get('token') ?? undefined, token);
  };
  const wss = new WebSocketServer({ noServer: true });

  const command = async (req: IncomingMessage, res: ServerResponse, id: string, name: string): Promise<void> => {
    let body: unknown;
    try {
      body = await readBody(req);
    } catch (e) {
      return json(res, 400, { ok: false, station: id, command: name, message: (e as Error).message });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return json(res, 400, { ok: false, station: id, command: name, message: 'body must be a JSON object' });
    const reply = controller.execute(id, { ...body, command: name });
    json(res, reply.ok ? 200 : controller.state(id) ? 400 : 404, reply);
  };

  return {
    request(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      if (path !== '/metrics' && !path.startsWith('/api/')) return false;
      if (!authorized(req, url)) {
        json(res, 401, { ok: false, message: 'missing or wrong token (Authorization: Bearer <token>)' });
        return true;
      }
      if (path === '/metrics') {
        if (!metrics) json(res, 404, { ok: false, message: 'metrics are off' });
        else void metrics.text().then((text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text));
        return true;
      }
      const parts = path.split('/').filter(Boolean).map(decodeURIComponent); // api, stations, id?, command?
      if (parts[1] !== 'stations' || parts.length > 4) {
        json(res, 404, { ok: false, message: `no route ${path}` });
        return true;
      }
      const [, , id, name] = parts;
      if (req.method === 'GET' && id === undefined) json(res, 200, controller.states());
      else if (req.method === 'GET' && name === undefined && id !== undefined) {
        const state = controller.state(id);
        json(res, state ? 200 : 404, state ?? { ok: false, message: `no station "${id}"` });
      } else if (req.method === 'POST' && id !== undefined && name !== undefined) void command(req, res, id, name);
      else json(res, 405, { ok: false, message: `${req.method} ${path}: use GET for state, POST for commands` });
      return true;
    },

    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/api/ws') return false;
      if (!authorized(req, url)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stop = controller.observe((ev) => ws.send(JSON.stringify(ev)));
        ws.on('close', stop);
        ws.on('message', (data) => {
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(String(data)) as Record<string, unknown>;
          } catch {
            return ws.send(JSON.stringify({ ok: false, message: 'not JSON' }));
          }
          const { station, id, ...cmd } = msg;
          const reply = controller.execute(String(station), cmd);
          ws.send(JSON.stringify({ kind: 'reply', ...reply, ...(id !== undefined ? { id } : {}) }));
        });
      });
      return true;
    },

    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
