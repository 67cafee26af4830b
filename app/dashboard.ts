/**
 * `--inspect[=port]`: a small dashboard on 127.0.0.1. The station actors are inspected with
 * @statelyai/inspect's WebSocket inspector, which connects back to this server (/inspect); the
 * server keeps each station's active states, the recent HCI messages and the charging samples,
 * and streams them to the page (web/index.html) over Server-Sent Events (/events). Any
 * WebSocket inspector client (e.g. Stately's) can connect to /inspect too; /inspector is a page
 * that shows them in Stately's inspector. The server also keeps each station's phase timeline and
 * live deadline figures (app/dashboard-deadlines.ts), and whether the run is still going: after
 * the run the CLI keeps the dashboard serving until Ctrl-C (app/run.ts).
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocketServer } from 'ws';
import { type DeadlineFigures, deadlineTracker } from './dashboard-deadlines.js';
import { CliError, EXIT } from './exit.js';
import { toJsonLine } from './output/json.js';

import { DEFAULT_INSPECT_PORT, activeStates } from './state-paths.js';

export { DEFAULT_INSPECT_PORT, activeStates } from './state-paths.js';
const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'web');
const MAX_MESSAGES = 200;
const MAX_SAMPLES = 5000;
/** Phases kept per station for the timeline (a long run has many sessions). */
const MAX_PHASES = 60;
/** Deadline figures go to the page at most this often per station (real time). */
const DEADLINE_EVERY_MS = 250;

export type DashboardEvent =
  | { type: 'state'; station: string; active: string[]; status?: string }
  | { type: 'hci'; station: string; dir: 'tx' | 'rx'; at: number; module?: string; message?: string; direction?: string; fields?: Record<string, unknown>; hex?: string }
  | { type: 'sample'; station: string; at: number; voltageV: number; currentA: number; powerW: number; socPercent?: number; energyWh: number }
  | { type: 'phase'; station: string; phase: string; at: number }
  | { type: 'log'; station: string; text: string }
  | { type: 'session'; station: string; record: unknown }
  | { type: 'deadline'; station: string; figures: DeadlineFigures };

/** The run behind the dashboard: going, ended (the dashboard still serves), or the server closing. */
export type RunState = { state: 'running' } | { state: 'ended'; text: string } | { state: 'closed'; text: string };

interface StationView {
  active: string[];
  phase?: string;
  status?: string;
  /** When each phase began, on the run's clock (the page shows start and duration). */
  phases: Array<{ phase: string; at: number }>;
  deadline?: DeadlineFigures;
}

export type Inspector = ReturnType<typeof createWebSocketInspector>;

export interface Dashboard {
  url: string;
  port: number;
  /** An inspector for one station: pass `inspector.inspect` to its actor. */
  inspectorFor(station: string): Inspector;
  publish(ev: DashboardEvent): void;
  /** Tells the page the run ended (or goes on); shown in its header. */
  setRun(run: RunState): void;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface DashboardOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Extra routes served first (the control API and /metrics, app/control/http.ts). */
  routes?: {
    request(req: IncomingMessage, res: ServerResponse): boolean;
    upgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): boolean;
  };
}

export async function startDashboard(port = DEFAULT_INSPECT_PORT, options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const state = {
    stations: new Map<string, StationView>(),
    messages: [] as DashboardEvent[],
    samples: [] as DashboardEvent[],
    run: { state: 'running' } as RunState,
  };
  const clients = new Set<ServerResponse>();
  const inspectors: Inspector[] = [];
  const deadlines = deadlineTracker();
  const deadlineSent = new Map<string, { at: number; timer?: ReturnType<typeof setTimeout> }>();

  const send = (res: ServerResponse, ev: unknown): void => {
    res.write(`data: ${toJsonLine(ev)}\n\n`);
  };
  const broadcast = (ev: unknown): void => {
    for (const res of clients) send(res, ev);
  };
  /** The station's deadline figures to the page: now, or once DEADLINE_EVERY_MS has passed since the last. */
  const sendDeadline = (station: string): void => {
    const last = deadlineSent.get(station) ?? { at: -Infinity };
    deadlineSent.set(station, last);
    if (last.timer) return;
    const flush = (): void => {
      last.timer = undefined;
      last.at = performance.now();
      const figures = deadlines.figures(station);
      if (figures) publish({ type: 'deadline', station, figures: { ...figures } });
    };
    const wait = last.at + DEADLINE_EVERY_MS - performance.now();
    if (wait <= 0) flush();
    else last.timer = setTimeout(flush, wait).unref();
  };
  const publish = (ev: DashboardEvent): void => {
    const st = state.stations.get(ev.station) ?? { active: [], phases: [] };
    state.stations.set(ev.station, st);
    if (ev.type === 'state') [st.active, st.status] = [ev.active, ev.status];
    else if (ev.type === 'phase') {
      st.phase = ev.phase;
      st.phases.push({ phase: ev.phase, at: ev.at });
      if (st.phases.length > MAX_PHASES) st.phases.shift();
      deadlines.phase(ev.station, ev.phase);
    } else if (ev.type === 'deadline') st.deadline = ev.figures;
    else if (ev.type === 'hci' || ev.type === 'log') {
      if (ev.type === 'hci' && deadlines.traffic(ev.station, ev.dir, ev.message, ev.direction)) sendDeadline(ev.station);
      state.messages.push(ev);
      if (state.messages.length > MAX_MESSAGES) state.messages.shift();
    } else if (ev.type === 'sample') {
      state.samples.push(ev);
      if (state.samples.length > MAX_SAMPLES) state.samples.shift();
    }
    broadcast(ev);
  };

  const serveFile = (res: ServerResponse, name: string): void => {
    try {
      const body = readFileSync(join(WEB_DIR, name));
      res.writeHead(200, { 'content-type': CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.routes?.request(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const stations = Object.fromEntries(state.stations);
      send(res, { type: 'init', stations, messages: state.messages, samples: state.samples, run: state.run });
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (path === '/state.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(toJsonLine({ stations: Object.fromEntries(state.stations), messages: state.messages.length, samples: state.samples.length }));
      return;
    }
    if (path === '/' || path === '/index.html') return serveFile(res, 'index.html');
    if (path === '/inspector') return serveFile(res, 'inspector.html');
    if (/^\/[a-z0-9-]+\.(js|css|svg)$/.test(path)) return serveFile(res, path.slice(1));
    res.writeHead(404).end('not found');
  };

  const server = createServer(handle);
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/inspect') {
      if (options.routes?.upgrade(req, socket, head)) return;
      socket.destroy();
      return;
    }
    const station = url.searchParams.get('station');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (station === null) {
        viewers.add(ws);
        // A viewer that connects late first gets every live actor and its latest snapshot.
        for (const text of replay.values()) ws.send(text);
        ws.on('close', () => viewers.delete(ws));
        return;
      }
      ws.on('message', (data) => {
        const text = String(data);
        onInspection(station, text);
        for (const v of viewers) if (v.readyState === v.OPEN) v.send(text);
      });
    });
  });

  /**
   * Inspector viewers (connections without ?station=, e.g. a Stately inspector or
   * @statelyai/inspect's createWebSocketReceiver) get the stations' inspection events relayed.
   */
  const viewers = new Set<import('ws').WebSocket>();
  /** Per live actor: its registration and latest snapshot, replayed to viewers that connect later. */
  const replay = new Map<string, string>();
  const rememberForViewers = (sessionId: string, type: string | undefined, status: string | undefined, text: string): void => {
    if (type === '@xstate.snapshot' && status !== undefined && status !== 'active') {
      // Finished actors (every command is one) are forgotten, so a long run does not grow this.
      replay.delete(`${sessionId}:@xstate.actor`);
      replay.delete(`${sessionId}:@xstate.snapshot`);
    } else if (type === '@xstate.actor' || type === '@xstate.snapshot') replay.set(`${sessionId}:${type}`, text);
  };

  /**
   * Active states per station: the root actor's, then each live child machine's as
   * "<child id>: <states>" (the session, SLAC, CP and charger machines run as children).
   */
  const actors = new Map<string, { station: string; name: string; root: boolean; states: string[] }>();
  const publishStates = (station: string, status?: string): void => {
    const mine = [...actors.values()].filter((a) => a.station === station && a.states.length > 0);
    const root = mine.filter((a) => a.root).flatMap((a) => a.states);
    const children = mine.filter((a) => !a.root).map((a) => `${a.name}: ${a.states.join(', ')}`);
    publish({ type: 'state', station, active: [...root, ...children], ...(status ? { status } : {}) });
  };
  const onInspection = (station: string, text: string): void => {
    let ev: { type?: string; name?: string; sessionId?: string; parentId?: string; snapshot?: { value?: unknown; status?: string } };
    try {
      ev = JSON.parse(text) as typeof ev;
    } catch {
      return;
    }
    if (!ev.sessionId) return;
    rememberForViewers(ev.sessionId, ev.type, ev.snapshot?.status, text);
    if (ev.type === '@xstate.actor') {
      actors.set(ev.sessionId, { station, name: ev.name ?? ev.sessionId, root: !ev.parentId, states: [] });
      return;
    }
    const actor = actors.get(ev.sessionId);
    if (ev.type !== '@xstate.snapshot' || !actor) return;
    const snap = ev.snapshot ?? {};
    // Only state machines have a value; promise and callback actors are left out.
    if (snap.status !== undefined && snap.status !== 'active') actor.states = [];
    else if (snap.value !== undefined) actor.states = activeStates(snap.value);
    else return;
    publishStates(station, actor.root ? snap.status : undefined);
  };

  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new CliError(`--inspect: port ${port} on ${host} is in use (try --inspect=0)`, EXIT.usage) : e));
    server.listen(port, host, () => ok());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}/`;

  return {
    url,
    port: actualPort,
    inspectorFor(station) {
      const inspector = createWebSocketInspector({
        url: `ws://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${actualPort}/inspect?station=${encodeURIComponent(station)}`,
        // The dashboard needs state values, not the whole context (clients, streams): keep it small.
        sanitizeContext: () => ({}),
      });
      inspectors.push(inspector);
      return inspector;
    },
    publish,
    setRun(run) {
      state.run = run;
      broadcast({ type: 'run', ...run });
    },
    async close() {
      for (const i of inspectors) i.stop();
      for (const d of deadlineSent.values()) clearTimeout(d.timer);
      // The page hears that the server stops, so it stops reconnecting instead of logging errors.
      if (state.run.state !== 'closed') broadcast({ type: 'run', state: 'closed', text: 'the dashboard server stopped' });
      for (const res of clients) res.end();
      clients.clear();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
