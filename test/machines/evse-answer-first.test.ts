/**
 * Issue 12 target 1 (reaction on the wire): in the charge loop the EVSE answers DC Charge
 * Parameters Changed (18.12.6) with Update DC Charging Parameters (18.10.4). The frame goes to the
 * transport before the message's log line and the update's bookkeeping, which the answer does
 * not need; the station still hears the same lines in the same order. Simulated pair, virtual
 * clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { V2g } from '../../codec/catalog.js';
import type { SimulatedPair } from '../../sim/index.js';
import { quickStations, simulatedClients } from '../helpers/stations.js';

const pairs: SimulatedPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

const RECEIVED = '"DC Charge Parameters Changed" received';
const UPDATE = V2g.EvseUpdateDcChargingParameters;

describe('EVSE charge loop: the answer leaves before the log line (issue 12 target 1)', () => {
  it('each DC Charge Parameters Changed in energy transfer: Update DC Charging Parameters on the transport, then its log line', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    // One list for what the transport is handed and what the station's listeners hear, in order.
    const seen: string[] = [];
    const host = pair.evseHost;
    const send = host.send.bind(host);
    host.send = (frame: Uint8Array) => {
      if (frame[1] === UPDATE.modId && frame[2] === UPDATE.subId) seen.push('update frame');
      return send(frame);
    };
    const s = quickStations({ clock, evseClient, evClient });
    let charging = false;
    s.evse.on('*', (e) => {
      const x = e as { type: string; text?: string; phase?: string };
      if (x.type === 'log' && x.text === RECEIVED) seen.push('log line');
      if (x.phase === 'charging') charging = true;
    });
    expect(await clock.runUntil(() => charging, 600_000, 10)).toBe(true);
    seen.length = 0;
    // Two seconds of the charge loop: about ten status messages, each answered at once, and the
    // update timer's own updates in between.
    await clock.runUntil(() => false, 2000, 10);
    const answered = seen.flatMap((x, i) => (x === 'log line' ? [seen[i - 1]] : []));
    expect(answered.length).toBeGreaterThan(5);
    expect(answered.every((x) => x === 'update frame')).toBe(true);
    s.evse.stop();
    s.ev.stop();
  }, 60_000);
});
