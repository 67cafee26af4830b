// The dashboard page: listens to /events (Server-Sent Events) and draws the stations' active
// states, phase timelines and deadline figures, the recent HCI messages and small canvas plots.
// No framework, no CDN.
const COLORS = { EVSE: '#4fb3ff', EV: '#ffb84f' };
const MAX_ROWS = 60;
const stations = {};
const samples = [];
const messages = [];
let dirty = false;
/** The latest time on the run's clock the page has heard of (the phase in progress lasts until it). */
let clockNow = 0;
let run = { state: 'running' };

// `zero`: the axis starts at 0 (V, A, kW); SOC zooms to its range so a few percent show.
const plots = [
  { id: 'plot-voltage', pick: (s) => s.voltageV, zero: true },
  { id: 'plot-current', pick: (s) => s.currentA, zero: true },
  { id: 'plot-power', pick: (s) => s.powerW / 1000, zero: true },
  { id: 'plot-soc', pick: (s) => s.socPercent, zero: false },
];

function station(name) {
  return (stations[name] ??= { active: [], phase: undefined, phases: [] });
}

const seen = (at) => {
  if (typeof at === 'number' && at > clockNow) clockNow = at;
};

function apply(ev) {
  switch (ev.type) {
    case 'init':
      for (const [name, st] of Object.entries(ev.stations)) Object.assign(station(name), st);
      for (const m of ev.messages) messages.push(m);
      for (const s of ev.samples) samples.push(s);
      for (const x of [...ev.messages, ...ev.samples, ...Object.values(ev.stations).flatMap((st) => st.phases ?? [])]) seen(x.at);
      setRun(ev.run ?? run);
      break;
    case 'state':
      station(ev.station).active = ev.active;
      break;
    case 'phase':
      station(ev.station).phase = ev.phase;
      station(ev.station).phases.push({ phase: ev.phase, at: ev.at });
      seen(ev.at);
      break;
    case 'deadline':
      station(ev.station).deadline = ev.figures;
      break;
    case 'run':
      setRun(ev);
      break;
    case 'sample':
      seen(ev.at);
      samples.push(ev);
      if (samples.length > 5000) samples.shift();
      break;
    case 'hci':
    case 'log':
      seen(ev.at);
      messages.push(ev);
      if (messages.length > 200) messages.shift();
      break;
    default:
      return;
  }
  dirty = true;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** 754000 -> "12:34" (minutes:seconds), or "1:02:03" past an hour. */
function clockText(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The phases of the station's latest session (from its last waitingForVehicle), with durations. */
function timeline(st) {
  let from = 0;
  st.phases.forEach((p, i) => {
    if (p.phase === 'waitingForVehicle') from = i;
  });
  const shown = st.phases.slice(from);
  const t0 = shown[0]?.at ?? 0;
  const end = Math.max(clockNow, shown.at(-1)?.at ?? 0);
  return shown.map((p, i) => ({ ...p, start: p.at - t0, duration: (shown[i + 1]?.at ?? end) - p.at, current: i === shown.length - 1, total: Math.max(1, end - t0) }));
}

function renderTimeline(st) {
  const table = el('table', 'timeline');
  table.append(el('caption', '', 'phase timeline (run clock)'));
  for (const p of timeline(st)) {
    const tr = el('tr', p.current ? 'current' : '');
    tr.dataset.phase = p.phase;
    const bar = el('span', 'bar');
    bar.style.width = `${Math.max(2, (p.duration / p.total) * 100)}%`;
    const cell = el('td', 'barcell');
    cell.append(bar);
    tr.append(el('td', 'name', p.phase), el('td', 'start', `t+${clockText(p.start)}`), el('td', 'duration', clockText(p.duration)), cell);
    table.append(tr);
  }
  return table;
}

/** "3.2 ms" with a bar against the deadline (green, amber past half, red past it). */
function deadlineRow(label, key, latest, longest, deadlineMs) {
  const row = el('div', 'deadline-row');
  row.dataset.figure = key;
  const value = latest === undefined ? '–' : `${latest.toFixed(1)} ms`;
  const text = el('span', 'figure', `${label} ${value} · longest ${longest.toFixed(1)} ms`);
  const limit = el('span', 'limit', deadlineMs === undefined ? 'no module deadline' : `deadline ${deadlineMs} ms`);
  row.append(text, limit);
  if (deadlineMs !== undefined) {
    const meter = el('span', 'meter');
    const fill = el('span', `fill ${longest > deadlineMs ? 'bad' : longest > deadlineMs / 2 ? 'warn' : 'ok'}`);
    fill.style.width = `${Math.min(100, Math.max(1, (longest / deadlineMs) * 100))}%`;
    const mark = el('span', 'latest');
    mark.style.left = `${Math.min(100, ((latest ?? 0) / deadlineMs) * 100)}%`;
    meter.append(fill, mark);
    meter.title = `longest ${longest.toFixed(1)} ms of the ${deadlineMs} ms deadline; the tick is the latest`;
    row.append(meter);
  }
  return row;
}

function renderDeadlines(st) {
  const box = el('div', 'deadlines');
  const d = st.deadline;
  if (!d) {
    box.append(el('div', 'dim', 'deadline figures: from the charge loop on (real time)'));
    return box;
  }
  box.append(el('div', 'dim', 'deadline figures (real time, this session)'));
  box.append(deadlineRow('update gap', 'updateGap', d.updateGapMs, d.longestUpdateGapMs, d.deadlineMs), deadlineRow('reaction', 'reaction', d.reactionMs, d.longestReactionMs, d.deadlineMs));
  return box;
}

function renderStations() {
  const root = document.getElementById('stations');
  root.replaceChildren();
  for (const [name, st] of Object.entries(stations)) {
    const div = el('div', `station ${name}`);
    div.dataset.station = name;
    const p = el('div', '', 'phase: ');
    p.append(el('span', 'phase', st.phase ?? '–'));
    const ul = el('ul', 'active');
    for (const s of st.active) ul.append(el('li', '', s));
    const side = el('div', 'side');
    side.append(renderTimeline(st), renderDeadlines(st));
    const main = el('div', 'main');
    main.append(p, ul);
    div.append(el('h3', '', name), main, side);
    root.append(div);
  }
}

function renderMessages() {
  const body = document.querySelector('#messages tbody');
  body.replaceChildren();
  for (const m of messages.slice(-MAX_ROWS).reverse()) {
    const tr = document.createElement('tr');
    tr.className = m.station;
    const cells =
      m.type === 'log' ? [m.station, '', m.text, ''] : [m.station, m.dir === 'tx' ? '→' : '←', `${m.module ?? '?'}.${m.message ?? '?'} ${m.direction ?? ''}`, JSON.stringify(m.fields ?? m.hex ?? '')];
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      if (i === 3) td.className = 'fields';
      td.textContent = c;
      tr.append(td);
    });
    body.append(tr);
  }
}

function drawPlot(canvas, pick, zero) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, h);
  const pts = samples.filter((s) => typeof pick(s) === 'number');
  const pad = { l: 44, r: 8, t: 8, b: 18 };
  ctx.strokeStyle = '#26303a';
  ctx.fillStyle = '#8a96a3';
  ctx.font = '11px system-ui';
  if (pts.length === 0) {
    ctx.fillText('waiting for samples…', pad.l, h / 2);
    return;
  }
  const t0 = pts[0].at;
  const t1 = Math.max(pts[pts.length - 1].at, t0 + 1);
  const values = pts.map(pick);
  let max = Math.max(...values);
  let min = zero ? Math.min(0, ...values) : Math.min(...values);
  if (zero) max *= 1.05;
  else [min, max] = [Math.max(0, min - 1), Math.min(100, max + 1)];
  if (max <= min) max = min + 1;
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - ((v - min) / (max - min)) * (h - pad.t - pad.b);
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(w - pad.r, y(v));
    ctx.stroke();
    ctx.fillText(v.toFixed(max - min < 20 || Math.abs(v) < 10 ? 1 : 0), 4, y(v) + 4);
  }
  ctx.fillText(`${((t1 - t0) / 1000).toFixed(0)} s`, w - pad.r - 40, h - 4);
  for (const name of Object.keys(COLORS)) {
    const line = pts.filter((s) => s.station === name);
    if (line.length === 0) continue;
    ctx.strokeStyle = COLORS[name];
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    for (const [i, s] of line.entries()) {
      if (i === 0) ctx.moveTo(x(s.at), y(pick(s)));
      else ctx.lineTo(x(s.at), y(pick(s)));
    }
    ctx.stroke();
  }
  canvas.dataset.points = String(pts.length);
}

/** Redraw at most this often: messages arrive hundreds of times a second, a person reads 4 frames. */
const RENDER_EVERY_MS = 250;
let renderedAt = -Infinity;

function render(now) {
  if (dirty && now - renderedAt >= RENDER_EVERY_MS) {
    dirty = false;
    renderedAt = now;
    renderStations();
    renderMessages();
    for (const p of plots) drawPlot(document.getElementById(p.id), p.pick, p.zero);
    document.body.dataset.samples = String(samples.length);
  }
  requestAnimationFrame(render);
}

const conn = document.getElementById('conn');
const source = new EventSource('/events');

/** The run's state in the header; when the server stops, the page stops listening (no retries). */
function setRun(next) {
  run = next;
  const badge = document.getElementById('run');
  badge.hidden = run.state === 'running';
  badge.textContent = run.text ?? '';
  badge.className = `run ${run.state}`;
  document.body.dataset.run = run.state;
  if (run.state === 'closed') {
    source.close();
    conn.textContent = 'stopped';
    conn.className = 'off';
  }
  window.dispatchEvent(new CustomEvent('freev2g:run', { detail: { state: run.state } }));
  dirty = true;
}

source.onopen = () => {
  conn.textContent = 'live';
  conn.className = 'on';
};
source.onerror = () => {
  if (run.state === 'closed') return;
  conn.textContent = 'disconnected';
  conn.className = 'off';
};
source.onmessage = (msg) => apply(JSON.parse(msg.data));
requestAnimationFrame(render);
