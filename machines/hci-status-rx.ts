/**
 * The HCI client's receive path for status messages (Sub-ID >= 0x80, manual 10.1.3): tolerant
 * decoding against the firmware profile's layouts, a notice per distinct tolerated layout, and
 * the statuses that arrived but cannot be delivered (`unusableStatus$`).
 */
import type { Observer } from 'rxjs';
import { MODULE_IDS, lookup } from '../codec/catalog.js';
import type { Frame } from '../codec/frame.js';
import type { LayoutVariant } from '../codec/layouts.js';
import { decodeStatusTolerant, describeTolerated } from '../codec/tolerant.js';
import { hostNow } from '../util/clock.js';
import type { HciNotice, TimedStatusEvent, TrafficRecord } from './hci-client.js';
import type { UnusableStatus } from './hci-types.js';

export const FIRST_STATUS_SUB_ID = 0x80;

/** Where the receiver reports (the client's subjects). */
export interface StatusOutlets {
  /** Records a frame from the module (`traffic$` and the client's receive listeners). */
  recordRx(t: TrafficRecord): void;
  /**
   * Delivers a status on `status$` and records its frame after it (docs/performance.md, target 1:
   * the record's subscribers need not run before the answer leaves), in the traffic's order.
   */
  deliverStatus(t: TrafficRecord, e: TimedStatusEvent): void;
  readonly status$: Observer<TimedStatusEvent>;
  readonly notices$: Observer<HciNotice>;
  readonly unusableStatus$: Observer<UnusableStatus>;
}

export class StatusReceiver {
  /** The firmware profile's status layouts (set once the version is known) and its name. */
  private layouts: readonly LayoutVariant[] = [];
  private firmware = 'not yet read';
  private readonly noticed = new Set<string>();

  constructor(private readonly out: StatusOutlets) {}

  useFirmware(version: string, layouts: readonly LayoutVariant[]): void {
    this.firmware = version;
    this.layouts = layouts;
  }

  /**
   * A parsed frame that is no response to a command in flight: delivered (and recorded) when it
   * decodes as a status message; false otherwise (the caller records it).
   *
   * Status messages are decoded tolerantly (codec/tolerant.ts): a layout the firmware profile
   * does not predict is reported once (message, firmware, hex) and, when its fields are usable,
   * delivered, so no session waits silently for a message it already got. The request ID is
   * not checked: 0x00 or 0xFF depending on the firmware (docs/firmware.md).
   */
  receive(frame: Frame, bytes: Uint8Array, at: number): boolean {
    const st = frame.subId >= FIRST_STATUS_SUB_ID ? decodeStatusTolerant(frame, this.layouts) : undefined;
    if (!st) return false;
    const m = st.message;
    const record: TrafficRecord = { dir: 'rx', at, bytes, message: m };
    if (st.kind === 'tolerated') {
      // A status the profile does not predict (rare): its record before its notice, as ever.
      this.out.recordRx(record);
      const text = describeTolerated(st, this.firmware, frame.payload);
      this.notice(`${m.module}.${m.message}:${st.problem.kind}:${frame.payload.length}`, text, st.usable ? 'warn' : 'error');
      // Bytes that do not mean what the layout says are not acted on (the notice names them).
      if (!st.usable) {
        this.out.unusableStatus$.next({ module: m.module, kind: 'unusable', message: m.message, at });
        return true;
      }
      this.out.status$.next({ type: `${m.module}.${m.message}`, module: m.module, message: m.message, fields: m.fields, at, hostAt: hostNow() });
      return true;
    }
    this.out.deliverStatus(record, { type: `${m.module}.${m.message}`, module: m.module, message: m.message, fields: m.fields, at, hostAt: hostNow() });
    return true;
  }

  /**
   * A frame from a known module with a status Sub-ID (>= 0x80) that the catalog does not list as a
   * command: a status message that reached the host but is not delivered (unknown Sub-ID, or its
   * checksum failed: then only its header names it).
   */
  undelivered(modId: number | undefined, subId: number | undefined, at: number): void {
    if (modId === undefined || subId === undefined || subId < FIRST_STATUS_SUB_ID) return;
    const module = MODULE_IDS[modId];
    const def = lookup(modId, subId);
    if (module === undefined || (def !== undefined && def.kind !== 'status')) return;
    this.out.unusableStatus$.next({ module, kind: 'undecodable', ...(def ? { message: def.name } : {}), at });
  }

  private notice(key: string, text: string, level: HciNotice['level']): void {
    if (this.noticed.has(key)) return;
    this.noticed.add(key);
    this.out.notices$.next({ level, text });
  }
}
