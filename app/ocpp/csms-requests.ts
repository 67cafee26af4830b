/**
 * What the central system may ask of the charge point (OCPP 1.6J, core, remote, smart charging
 * and remote trigger profiles), one handler per message. Every change to a station goes through
 * the controller, the same path as a local or API command.
 */
import type { RPCClient } from 'ocpp-rpc';
import type { OcppChargePoint } from './charge-point.js';
import { PNC_VENDOR_ID } from './certificate-provider.js';
import type { Connector } from './connector.js';
import { restartMeterValues, sendMeterValues } from './meter-values.js';
import { pncCsmsRequest } from './pnc-messages.js';
import { type ChargingProfile, type ChargingRateUnit, compositeSchedule } from './smart-charging.js';

type Params = Record<string, unknown>;
type Handler = (cp: OcppChargePoint, params: Params) => Params | Promise<Params>;

/** Connectors a request names: connectorId 0 (or none) is all of them. */
function targets(cp: OcppChargePoint, connectorId: unknown): Connector[] | undefined {
  if (connectorId === undefined || connectorId === 0) return cp.connectors;
  const c = cp.connector(Number(connectorId));
  return c ? [c] : undefined;
}

const HANDLERS: Record<string, Handler> = {
  GetConfiguration: (cp, p) => cp.config.list(p.key as string[] | undefined),

  ChangeConfiguration: (cp, p) => {
    const key = String(p.key);
    const status = cp.config.change(key, String(p.value));
    if (status === 'Accepted' && key === 'HeartbeatInterval') cp.restartHeartbeat();
    if (status === 'Accepted' && key === 'MeterValueSampleInterval') for (const c of cp.connectors) restartMeterValues(cp, c);
    return { status };
  },

  ChangeAvailability: (cp, p) => {
    const cs = targets(cp, p.connectorId);
    if (!cs) return { status: 'Rejected' };
    const type = p.type as 'Operative' | 'Inoperative';
    let scheduled = false;
    for (const c of cs) {
      // A running transaction finishes first (OCPP 1.6 section 5.2): the change waits for its end.
      if (c.tx && type === 'Inoperative') {
        c.scheduledAvailability = type;
        scheduled = true;
      } else cp.controller.execute(c.station, { command: type === 'Inoperative' ? 'disable' : 'enable' });
    }
    return { status: scheduled ? 'Scheduled' : 'Accepted' };
  },

  Reset: (cp, p) => {
    const reason = p.type === 'Hard' ? 'HardReset' : 'SoftReset';
    cp.log(`OCPP: ${String(p.type)} reset requested: stopping transactions and booting again`);
    for (const c of cp.connectors) {
      cp.stopTransaction(c, reason);
    }
    setTimeout(() => void cp.boot(), 100).unref();
    return { status: 'Accepted' };
  },

  RemoteStartTransaction: (cp, p) => {
    const idTag = String(p.idTag);
    const c = p.connectorId !== undefined ? cp.connector(Number(p.connectorId)) : cp.connectors.find((k) => !k.tx && cp.controller.state(k.station)?.available);
    const state = c ? cp.controller.state(c.station) : undefined;
    if (!c || !state?.online || !state.available || c.tx) return { status: 'Rejected' };
    // The waiting vehicle, or else the next one on this connector, is authorized with this id tag.
    if (p.chargingProfile) c.profiles = upsert(c.profiles, p.chargingProfile as ChargingProfile);
    if (c.waiting) {
      c.idTag = idTag;
      c.remote = { idTag, until: cp.clock.now() + 60_000 };
      c.waiting(true);
    } else c.remote = { idTag, until: cp.clock.now() + cp.config.seconds('ConnectionTimeOut') * 1000 };
    return { status: 'Accepted' };
  },

  RemoteStopTransaction: (cp, p) => {
    const c = cp.connectors.find((k) => k.tx && cp.transactionIdOf(k) === Number(p.transactionId));
    if (!c?.tx) return { status: 'Rejected' };
    cp.stopTransaction(c, 'Remote');
    return { status: 'Accepted' };
  },

  // No connector lock is driven by this host (the inlet lock of a CCS car is the car's).
  UnlockConnector: () => ({ status: 'NotSupported' }),

  // The PnC whitepaper's CSMS-initiated certificate messages (pnc-messages.ts); no other vendor's.
  DataTransfer: (cp, p) => (p.vendorId === PNC_VENDOR_ID ? pncCsmsRequest(cp, p.messageId, p.data) : { status: 'UnknownVendorId' }),

  TriggerMessage: (cp, p) => {
    const cs = targets(cp, p.connectorId) ?? [];
    const later = (fn: () => void) => setTimeout(fn, 10).unref();
    switch (p.requestedMessage) {
      case 'BootNotification':
        later(() => void cp.boot());
        break;
      case 'Heartbeat':
        later(() => void cp.call('Heartbeat', {}));
        break;
      case 'StatusNotification':
        later(() => cs.forEach((c) => void cp.sendStatus(c.id, c.status)));
        break;
      case 'MeterValues':
        later(() => {
          for (const c of cs) sendMeterValues(cp, c, 'Trigger');
        });
        break;
      default:
        return { status: 'NotImplemented' };
    }
    return { status: 'Accepted' };
  },

  SetChargingProfile: (cp, p) => {
    const profile = p.csChargingProfiles as ChargingProfile;
    const connectorId = Number(p.connectorId);
    if (profile.chargingProfilePurpose === 'ChargePointMaxProfile') {
      if (connectorId !== 0) return { status: 'Rejected' };
      cp.chargePointProfiles = upsert(cp.chargePointProfiles, profile);
    } else if (connectorId === 0) {
      if (profile.chargingProfilePurpose !== 'TxDefaultProfile') return { status: 'Rejected' };
      for (const c of cp.connectors) c.profiles = upsert(c.profiles, profile);
    } else {
      const c = cp.connector(connectorId);
      if (!c) return { status: 'Rejected' };
      // A TxProfile needs the transaction it is for (OCPP 1.6 section 5.16.3).
      if (profile.chargingProfilePurpose === 'TxProfile' && (!c.tx || (profile.transactionId !== undefined && profile.transactionId !== cp.transactionIdOf(c)))) return { status: 'Rejected' };
      c.profiles = upsert(c.profiles, profile);
    }
    for (const c of cp.connectors) cp.applyProfiles(c);
    return { status: 'Accepted' };
  },

  ClearChargingProfile: (cp, p) => {
    const matches = (x: ChargingProfile): boolean =>
      (p.id === undefined || x.chargingProfileId === p.id) &&
      (p.chargingProfilePurpose === undefined || x.chargingProfilePurpose === p.chargingProfilePurpose) &&
      (p.stackLevel === undefined || x.stackLevel === p.stackLevel);
    let removed = 0;
    const keep = (list: ChargingProfile[]): ChargingProfile[] => {
      const kept = list.filter((x) => !matches(x));
      removed += list.length - kept.length;
      return kept;
    };
    if (p.connectorId === undefined || p.connectorId === 0) cp.chargePointProfiles = keep(cp.chargePointProfiles);
    for (const c of targets(cp, p.connectorId) ?? []) c.profiles = keep(c.profiles);
    for (const c of cp.connectors) cp.applyProfiles(c);
    return { status: removed > 0 ? 'Accepted' : 'Unknown' };
  },

  GetCompositeSchedule: (cp, p) => {
    const connectorId = Number(p.connectorId);
    const c = cp.connector(connectorId);
    if (!c && connectorId !== 0) return { status: 'Rejected' };
    const now = cp.clock.now();
    const txId = c ? cp.transactionIdOf(c) : undefined;
    const tx = c?.tx ? { startedAt: c.tx.startedAt, ...(txId !== undefined ? { transactionId: txId } : {}) } : {};
    const unit = (p.chargingRateUnit as ChargingRateUnit | undefined) ?? 'A';
    const voltageV = c ? cp.controller.state(c.station)?.voltageV || 400 : 400;
    const schedule = compositeSchedule(c?.profiles ?? [], cp.chargePointProfiles, now, Number(p.duration), unit, tx, voltageV);
    if (!schedule) return { status: 'Rejected' };
    return { status: 'Accepted', connectorId, scheduleStart: schedule.startSchedule, chargingSchedule: schedule };
  },
};

/** A profile replaces one with the same id, or the same purpose and stack level (OCPP 1.6 3.13.2). */
function upsert(list: ChargingProfile[], p: ChargingProfile): ChargingProfile[] {
  return [...list.filter((x) => x.chargingProfileId !== p.chargingProfileId && !(x.chargingProfilePurpose === p.chargingProfilePurpose && x.stackLevel === p.stackLevel)), p];
}

export const SUPPORTED_CSMS_REQUESTS = Object.keys(HANDLERS);

export function registerCsmsRequests(cp: OcppChargePoint, rpc: InstanceType<typeof RPCClient>): void {
  for (const [method, handler] of Object.entries(HANDLERS)) {
    rpc.handle(method, async ({ params }) => {
      const reply = await handler(cp, (params ?? {}) as Params);
      cp.log(`OCPP: ${method} -> ${String(reply.status ?? 'answered')}`);
      return reply;
    });
  }
}
