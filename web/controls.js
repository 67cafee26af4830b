// The dashboard's controls (stop, enable/disable, limits, authorize) over the control API's
// WebSocket (/api/ws, app/control/http.ts): one panel per EVSE station, built from the state the
// server pushes. A token, if the server needs one, comes from the page's ?token= parameter.
// The API lives as long as the run: the panel starts once dashboard.js hears the run is going
// ('freev2g:run' events) and stops reconnecting when it ended (no failed connections logged).
const panel = document.getElementById('controls');
const token = new URLSearchParams(location.search).get('token');
const states = new Map();
let ws;
let nextId = 1;
/** The run's state as dashboard.js last heard it; undefined until the server spoke. */
let runState;
window.addEventListener('freev2g:run', (e) => {
  const first = runState === undefined;
  runState = e.detail.state;
  if (runState !== 'running') ws?.close();
  else if (first && panel) start();
});

function send(station, command, fields = {}) {
  ws?.send(JSON.stringify({ station, command, ...fields, id: nextId++ }));
}

function button(label, action, attrs = {}) {
  const b = document.createElement('button');
  b.textContent = label;
  b.type = 'button';
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  b.addEventListener('click', action);
  return b;
}

function render() {
  panel.replaceChildren();
  for (const s of states.values()) {
    if (s.role !== 'EVSE') continue;
    const box = document.createElement('div');
    box.className = 'control';
    box.dataset.station = s.id;
    const title = document.createElement('h3');
    title.textContent = `${s.id}: ${s.available ? 'enabled' : 'disabled'}${s.online ? '' : ' (stopped)'}`;
    box.append(title);
    box.append(button('Stop charging', () => send(s.id, 'stop'), { 'data-action': 'stop' }));
    box.append(s.available ? button('Disable', () => send(s.id, 'disable'), { 'data-action': 'disable' }) : button('Enable', () => send(s.id, 'enable'), { 'data-action': 'enable' }));
    const limit = document.createElement('input');
    limit.type = 'number';
    limit.min = '1';
    limit.placeholder = s.limits?.maxPowerW ? String(s.limits.maxPowerW) : 'max power W';
    limit.dataset.field = 'maxPowerW';
    box.append(
      limit,
      button('Set limit', () => Number(limit.value) > 0 && send(s.id, 'setLimits', { maxPowerW: Number(limit.value) }), { 'data-action': 'setLimits' }),
    );
    if (s.pendingAuthorization) {
      const p = document.createElement('p');
      p.className = 'pending';
      p.textContent = `Vehicle ${s.pendingAuthorization.evccId} waits for authorization`;
      box.append(
        p,
        button('Accept', () => send(s.id, 'authorize', { accept: true }), { 'data-action': 'accept' }),
        button('Reject', () => send(s.id, 'authorize', { accept: false }), { 'data-action': 'reject' }),
      );
    }
    const reply = document.createElement('p');
    reply.className = 'reply';
    reply.textContent = s.lastReply ?? '';
    box.append(reply);
    panel.append(box);
  }
}

function connect() {
  ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  ws.addEventListener('message', (m) => {
    const ev = JSON.parse(m.data);
    if (ev.kind === 'state') states.set(ev.station, { ...states.get(ev.station), ...ev.state });
    else if (ev.kind === 'reply') {
      const s = states.get(ev.station);
      if (s) s.lastReply = `${ev.command}: ${ev.message}`;
    } else return;
    render();
  });
  ws.addEventListener('close', () => setTimeout(() => runState === 'running' && connect(), 2000));
}

async function start() {
  // The stations as they are now, then every change over the socket.
  const res = await fetch('/api/stations', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!res.ok) return; // no control API on this server
  for (const s of await res.json()) states.set(s.id, s);
  render();
  connect();
}
