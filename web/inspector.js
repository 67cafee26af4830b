// The stations' statecharts in Stately's inspector: this page joins the dashboard server's
// /inspect WebSocket as a viewer (the server relays every inspection event of the stations'
// actors, the live ones first) and hands each event to the inspector in the frame the way
// @statelyai/inspect's browser inspector does: the frame posts '@statelyai.connected' once it
// listens, then receives the events as window messages. The inspector itself comes from
// stately.ai (it needs the network); nothing else leaves this machine.
const INSPECTOR_URL = 'https://stately.ai/inspect';
const INSPECTOR_ORIGIN = new URL(INSPECTOR_URL).origin;
/** Events kept until the inspector says it listens (a long run's live actors fit easily). */
const MAX_BUFFERED = 5000;
const frame = document.getElementById('inspector');
const buffered = [];
let ready = false;

const deliver = (ev) => frame.contentWindow?.postMessage(ev, INSPECTOR_ORIGIN);

window.addEventListener('message', (e) => {
  if (e.source !== frame.contentWindow || e.data?.type !== '@statelyai.connected') return;
  ready = true;
  for (const ev of buffered.splice(0)) deliver(ev);
});

const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/inspect`);
socket.addEventListener('message', (m) => {
  const ev = JSON.parse(m.data);
  if (ready) deliver(ev);
  else if (buffered.push(ev) > MAX_BUFFERED) buffered.shift();
});
socket.addEventListener('close', () => {
  document.title = 'freev2g statecharts (the dashboard server stopped)';
});
frame.src = INSPECTOR_URL;
