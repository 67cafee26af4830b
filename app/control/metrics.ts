/**
 * `/metrics` in Prometheus text format (prom-client, its own registry: nothing global), per
 * station label:
 *
 *   freev2g_sessions_total{station,stop_reason}          sessions ended, by why
 *   freev2g_session_errors_total{station,code,name}      sessions ended on an error
 *   freev2g_energy_delivered_wh_total{station}           energy of ended sessions
 *   freev2g_update_gap_seconds{station}                  histogram: time between two parameter
 *                                                        updates the host sent while charging
 *   freev2g_reaction_seconds{station}                    histogram: charge-loop status in -> the
 *                                                        host's next frame out
 *   freev2g_hci_frames_total{station,dir}                HCI frames sent (tx) and received (rx)
 *   freev2g_hci_undecodable_total{station}               frames received that did not decode
 *   freev2g_framing_errors_total{station}                framing error reports of the module
 *                                                        (each starts a resync, manual 10.2)
 *   freev2g_transport_down_total{station}                link-down events of the transport
 *   freev2g_station_up{station}                          1 while the station runs
 *
 * Gaps and reactions are measured in real time on the host (performance.now() when the frame
 * passes the HCI client), whatever clock the station runs on: that is what the module sees.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TrafficRecord } from '../../machines/hci-client.js';
import type { SessionRecord } from '../../machines/station-events.js';
import type { LinkState } from '../../transports/transport.js';

const CHARGE_LOOP_STATUS = /(Dc|Ac)ChargeParametersChanged$/;
const PARAMETER_UPDATE = /Update(Dc|Ac)ChargingParameters$/;
/** Seconds: 1 ms .. 2 s around the module's 500 ms update deadline and 25 ms reaction budget. */
const GAP_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2];
const REACTION_BUCKETS = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];

export class StationMetrics {
  readonly registry = new Registry();
  private readonly sessions = new Counter({ name: 'freev2g_sessions_total', help: 'Sessions ended, by stop reason', labelNames: ['station', 'stop_reason'], registers: [this.registry] });
  private readonly errors = new Counter({
    name: 'freev2g_session_errors_total',
    help: 'Sessions ended on an error, by code and name',
    labelNames: ['station', 'code', 'name'],
    registers: [this.registry],
  });
  private readonly energy = new Counter({ name: 'freev2g_energy_delivered_wh_total', help: 'Energy of ended sessions (Wh)', labelNames: ['station'], registers: [this.registry] });
  private readonly gaps = new Histogram({
    name: 'freev2g_update_gap_seconds',
    help: 'Time between two parameter updates sent while charging (real time)',
    labelNames: ['station'],
    buckets: GAP_BUCKETS,
    registers: [this.registry],
  });
  private readonly reactions = new Histogram({
    name: 'freev2g_reaction_seconds',
    help: 'Charge-loop status message in -> next host frame out (real time)',
    labelNames: ['station'],
    buckets: REACTION_BUCKETS,
    registers: [this.registry],
  });
  private readonly frames = new Counter({ name: 'freev2g_hci_frames_total', help: 'HCI frames sent (tx) and received (rx)', labelNames: ['station', 'dir'], registers: [this.registry] });
  private readonly undecodable = new Counter({ name: 'freev2g_hci_undecodable_total', help: 'Received frames that did not decode', labelNames: ['station'], registers: [this.registry] });
  private readonly framingErrors = new Counter({
    name: 'freev2g_framing_errors_total',
    help: 'Framing errors the module reported (each starts a resync)',
    labelNames: ['station'],
    registers: [this.registry],
  });
  private readonly linkDown = new Counter({ name: 'freev2g_transport_down_total', help: 'Transport link-down events', labelNames: ['station'], registers: [this.registry] });
  private readonly up = new Gauge({ name: 'freev2g_station_up', help: '1 while the station runs', labelNames: ['station'], registers: [this.registry] });
  /** Per station: when the last update went out and when a charge-loop status is waiting for our answer. */
  private readonly lastUpdateAt = new Map<string, number>();
  private readonly awaitingSince = new Map<string, number>();

  stationUp(station: string, up: boolean): void {
    this.up.set({ station }, up ? 1 : 0);
  }

  /** One HCI frame through a station's client; `now` is real time in ms. */
  traffic(station: string, t: TrafficRecord, charging: boolean, now = performance.now()): void {
    this.frames.inc({ station, dir: t.dir });
    const m = t.message;
    if (t.dir === 'rx') {
      if (!m) return this.undecodable.inc({ station });
      if (m.module === 'FramingError') this.framingErrors.inc({ station });
      if (m.direction === 'status' && CHARGE_LOOP_STATUS.test(m.message)) this.awaitingSince.set(station, now);
      return;
    }
    const since = this.awaitingSince.get(station);
    if (since !== undefined) {
      this.reactions.observe({ station }, (now - since) / 1000);
      this.awaitingSince.delete(station);
    }
    if (m?.direction === 'request' && PARAMETER_UPDATE.test(m.message)) {
      const last = this.lastUpdateAt.get(station);
      if (charging && last !== undefined) this.gaps.observe({ station }, (now - last) / 1000);
      this.lastUpdateAt.set(station, now);
    }
  }

  /** Between sessions the gap restarts (the first update of a session has no predecessor). */
  phase(station: string, phase: string): void {
    if (phase !== 'charging') this.lastUpdateAt.delete(station);
  }

  link(station: string, state: LinkState): void {
    if (!state.up) this.linkDown.inc({ station });
  }

  session(station: string, record: SessionRecord): void {
    this.sessions.inc({ station, stop_reason: record.stopReason ?? (record.error ? 'error' : 'unknown') });
    if (record.error) this.errors.inc({ station, code: record.error.code !== undefined ? String(record.error.code) : '', name: record.error.name });
    this.energy.inc({ station }, Math.max(0, record.energyDeliveredWh));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
