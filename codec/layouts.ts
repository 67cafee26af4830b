/**
 * Status message layouts as real firmware sends them, where real traffic differs from the
 * manual's tables (rev 2.14). Each variant decodes to the manual's field names, so the machines
 * see one shape whatever the firmware; which variants are in force is chosen by the firmware
 * profile (firmware/profiles.ts), never here. Every variant names the field report it comes from.
 */
import type { Type } from './schema.js';
import { exponential, fixedBytes, string, stripZeroPadding, struct } from './schema.js';
import { energyTransferModeType, evseStatusType, paymentMethodType, protocolType } from './modules/v2g/common.js';

type Fields = Record<string, Type<unknown>>;
type Rec = Record<string, unknown>;

export interface LayoutVariant {
  /** Stable name, used by profiles and docs, e.g. "ev-session-started-padded-evse-id". */
  readonly id: string;
  readonly modId: number;
  readonly subId: number;
  /** `<Module>.<Message>` of the manual's definition this variant replaces. */
  readonly message: string;
  /** The fields in wire order. */
  readonly fields: Fields;
  /** Wire fields -> the manual's field names (default: as is). */
  readonly fromWire?: (wire: Rec) => Rec;
  /** The manual's field names -> wire fields (the simulator emulating the firmware). */
  readonly toWire?: (value: Rec) => Rec;
  /** What differs from the manual, one line. */
  readonly summary: string;
  /** Where it was seen, e.g. "Sevenstax/FreeV2G#345". */
  readonly source: string;
}

/** A variant's payload type (wire fields in wire order, then mapped to the manual's names). */
export function variantType(v: LayoutVariant): Type<Rec> {
  const wire = struct(v.fields);
  return {
    shape: wire.shape,
    read: (r) => (v.fromWire ? v.fromWire(wire.read(r) as Rec) : (wire.read(r) as Rec)),
    write: (w, value) => wire.write(w, (v.toWire ? v.toWire(value) : value) as never),
  };
}

/** EVSE ID length byte is the field size (38) and the ID is zero-padded to it. */
const PADDED_EVSE_ID_SIZE = 38;

/**
 * PI V01_00_04 Session Started (0xC0): 50 payload bytes, the EVSE ID sent as a 38-byte
 * zero-padded field with length byte 38 (manual: 0..37 bytes, counted). Captured frame in
 * Sevenstax/FreeV2G#345.
 */
export const EV_SESSION_STARTED_PADDED: LayoutVariant = {
  id: 'ev-session-started-padded-evse-id',
  modId: 0x27,
  subId: 0xc0,
  message: 'V2g.EvSessionStarted',
  fields: {
    selectedProtocol: protocolType,
    sessionId: fixedBytes(8),
    evseId: string(0, PADDED_EVSE_ID_SIZE),
    selectedPaymentMethod: paymentMethodType,
    selectedEnergyTransferMode: energyTransferModeType,
  },
  fromWire: (w) => ({ ...w, evseId: stripZeroPadding(String(w.evseId ?? '')) }),
  toWire: (v) => ({ ...v, evseId: String(v.evseId ?? '').padEnd(PADDED_EVSE_ID_SIZE, '\0') }),
  summary: 'EVSE ID as a 38-byte zero-padded field, length byte 38 (50-byte payload)',
  source: 'Sevenstax/FreeV2G#345',
};

/**
 * PI V01_00_04 DC Charge Parameters Changed (0xC1): 25 payload bytes, eight exponentials and the
 * EVSE status; the sixth slot repeats the EVSE maximum voltage where the manual has the maximum
 * power, and the fields after the status are absent. Sevenstax/FreeV2G#94 (bytes), #127; the
 * reference host's EV_v1.0.4_0 parser reads exactly these nine fields.
 */
export const EV_DC_PARAMETERS_SHORT: LayoutVariant = {
  id: 'ev-dc-parameters-25-bytes',
  modId: 0x27,
  subId: 0xc1,
  message: 'V2g.EvDcChargeParametersChanged',
  fields: {
    minVoltageV: exponential,
    minCurrentA: exponential,
    minPowerW: exponential,
    maxVoltageV: exponential,
    maxCurrentA: exponential,
    maxVoltageRepeatedV: exponential,
    presentVoltageV: exponential,
    presentCurrentA: exponential,
    status: evseStatusType,
  },
  // The repeated voltage is not a power: the message carries no maximum power at all.
  fromWire: ({ maxVoltageRepeatedV: _repeat, ...rest }) => rest,
  toWire: (v) => ({ ...v, maxVoltageRepeatedV: v.maxVoltageV }),
  summary: '25 bytes: EVSE max voltage twice (no max power), nothing after the EVSE status',
  source: 'Sevenstax/FreeV2G#94, Sevenstax/FreeV2G#127',
};

/** Every variant known, for the tolerant decoder's last resort and the docs. */
export const LAYOUT_VARIANTS: readonly LayoutVariant[] = [EV_SESSION_STARTED_PADDED, EV_DC_PARAMETERS_SHORT];
