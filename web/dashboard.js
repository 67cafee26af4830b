// The dashboard page: listens to /events (Server-Sent Events) and draws the stations' active
// states, the recent HCI messages and small canvas plots. No framework, no CDN.
const COLORS = { EVSE: '#4fb3ff', EV: '#ffb84f' };
const MAX_ROWS = 60;
const stations = {};
const samples = [];
const messages = [];
let dirty = false;

// `zero`: the axis starts at 0 (V, A, kW); SOC zooms to its range so a few percent show.
const plots = [
  { id: 'plot-voltage', pick: (s) => s.voltageV, zero: true },
  { id: 'plot-current', pick: (s) => s.currentA, zero: true },
  { id: 'plot-power', pick: (s) => s.powerW / 1000, zero: true },
  { id: 'plot-soc', pick: (s) => s.socPercent, zero: false },
];

function station(name) {
  return (stations[name] ??= { active: [], phase: undefined });
}

function apply(ev) {
  switch (ev.type) {
    case 'init':
      for (const [name, st] of Object.entries(ev.stations)) Object.assign(station(name), st);
      for (const m of ev.messages) messages.push(m);
      for (const s of ev.samples) samples.push(s);
      break;
    case 'state':
      station(ev.station).active = ev.active;
      break;
    case 'phase':
      station(ev.station).phase = ev.phase;
      break;
    case 'sample':
      samples.push(ev);
      if (samples.length > 5000) samples.shift();
      break;
    case 'hci':
    case 'log':
      messages.push(ev);
      if (messages.length > 200) messages.shift();
      break;
    default:
      return;
  }
  dirty = true;
}

function renderStations() {
  const root = document.getElementById('stations');
  root.replaceChildren();
  for (const [name, st] of Object.entries(stations)) {
    const div = document.createElement('div');
    div.className = `station ${name}`;
    div.dataset.station = name;
    const h = document.createElement('h3');
    h.textContent = name;
    const p = document.createElement('div');
    p.innerHTML = 'phase: <span class="phase"></span>';
    p.querySelector('.phase').textContent = st.phase ?? '–';
    const ul = document.createElement('ul');
    ul.className = 'active';
    for (const s of st.active) {
      const li = document.createElement('li');
      li.textContent = s;
      ul.append(li);
    }
    div.append(h, p, ul);
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

function render() {
  if (dirty) {
    dirty = false;
    renderStations();
    renderMessages();
    for (const p of plots) drawPlot(document.getElementById(p.id), p.pick, p.zero);
    document.body.dataset.samples = String(samples.length);
  }
  requestAnimationFrame(render);
}

const conn = document.getElementById('conn');
const source = new EventSource('/events');
source.onopen = () => {
  conn.textContent = 'live';
  conn.className = 'on';
};
source.onerror = () => {
  conn.textContent = 'disconnected';
  conn.className = 'off';
};
source.onmessage = (msg) => apply(JSON.parse(msg.data));
requestAnimationFrame(render);
