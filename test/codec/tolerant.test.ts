/** Tolerant status decoding (codec/tolerant.ts): shorter/longer than expected, variants, profile choice. */
import { describe, expect, it } from 'vitest';
import { V2g, encodeStatusFrame } from '../../codec/catalog.js';
import { encodeFrame, parseFrame } from '../../codec/frame.js';
import { EV_DC_PARAMETERS_SHORT, EV_SESSION_STARTED_PADDED, variantType } from '../../codec/layouts.js';
import { encodeWith } from '../../codec/message.js';
import { decodeStatusTolerant, describeTolerated } from '../../codec/tolerant.js';

const frameOf = (bytes: Uint8Array) => {
  const p = parseFrame(bytes);
  if ('error' in p) throw new Error(p.error.detail);
  return p.frame;
};
const started = { selectedProtocol: 1, sessionId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), evseId: 'DE*ABC*E1', selectedPaymentMethod: 0, selectedEnergyTransferMode: 0 };

describe('tolerant status decoding', () => {
  it('decodes the manual layout exactly when no variant is in force', () => {
    const d = decodeStatusTolerant(frameOf(encodeStatusFrame(V2g.EvSessionStarted, started)));
    expect(d?.kind).toBe('exact');
    expect(d?.kind === 'exact' && d.layout).toBe('manual');
    expect(d?.message.fields).toEqual(started);
  });

  it("prefers the profile's variant, and round-trips it", () => {
    const payload = encodeWith(variantType(EV_SESSION_STARTED_PADDED), 'x', started);
    expect(payload.length).toBe(50);
    const d = decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0xc0, reqId: 0, payload })), [EV_SESSION_STARTED_PADDED]);
    expect(d?.kind === 'exact' && d.layout).toBe(EV_SESSION_STARTED_PADDED.id);
    expect(d?.message.fields).toEqual(started);
  });

  it('falls back to a variant of another firmware when neither the profile nor the manual fits', () => {
    const payload = encodeWith(variantType(EV_DC_PARAMETERS_SHORT), 'x', {
      minVoltageV: 0,
      minCurrentA: 0,
      minPowerW: 0,
      maxVoltageV: 500,
      maxCurrentA: 100,
      presentVoltageV: 400,
      presentCurrentA: 10,
      status: 1,
    });
    expect(payload.length).toBe(25);
    const d = decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0xff, payload })));
    expect(d?.kind === 'exact' && d.layout).toBe(EV_DC_PARAMETERS_SHORT.id);
    expect(d?.message.fields).toMatchObject({ maxVoltageV: 500, presentVoltageV: 400, status: 1 });
    expect(d?.message.fields).not.toHaveProperty('maxPowerW');
  });

  it('a shorter message decodes the fields before the cut and names the problem', () => {
    const full = encodeStatusFrame(V2g.EvSessionStarted, started);
    const cut = frameOf(encodeFrame({ modId: 0x27, subId: 0xc0, reqId: 0xff, payload: frameOf(full).payload.subarray(0, 12) }));
    const d = decodeStatusTolerant(cut);
    expect(d?.kind).toBe('tolerated');
    if (d?.kind !== 'tolerated') return;
    expect(d.problem.kind).toBe('short');
    expect(d.problem.field).toBe('evseId');
    // The payload ends inside the EVSE ID: those bytes are not acted on.
    expect(d.usable).toBe(false);
    expect(d.message.fields).toEqual({ selectedProtocol: 1, sessionId: started.sessionId });
    const line = describeTolerated(d, 'V01_00_05', cut.payload);
    expect(line).toContain('V2g.EvSessionStarted on firmware V01_00_05');
    expect(line).toContain('12-byte payload: 01 01 02 03 04 05 06 07 08 09 44 45');
  });

  it('a longer message decodes every field and reports the extra bytes', () => {
    const payload = Uint8Array.of(...frameOf(encodeStatusFrame(V2g.EvSessionStarted, started)).payload, 0xaa, 0xbb);
    const d = decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0xc0, reqId: 0xff, payload })));
    expect(d?.kind).toBe('tolerated');
    if (d?.kind !== 'tolerated') return;
    expect(d.problem.kind).toBe('extra');
    expect(d.problem.detail).toContain('2 byte(s)');
    expect(d.usable).toBe(true);
    expect(d.message.fields).toEqual(started);
  });

  it('an empty payload still yields the message (no fields), never an exception', () => {
    const d = decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0xff, payload: new Uint8Array(0) })));
    expect(d?.kind).toBe('tolerated');
    expect(d?.message.message).toBe('EvDcChargeParametersChanged');
    expect(d?.message.fields).toEqual({});
    expect(d?.kind === 'tolerated' && d.usable).toBe(false);
  });

  it('a message whose trailing fields are missing (ends between fields) is usable', () => {
    const full = frameOf(
      encodeStatusFrame(V2g.EvDcChargeParametersChanged, {
        minVoltageV: 0,
        minCurrentA: 0,
        minPowerW: 0,
        maxVoltageV: 500,
        maxCurrentA: 100,
        maxPowerW: 50000,
        presentVoltageV: 400,
        presentCurrentA: 10,
        status: 1,
        isolationStatus: undefined,
        voltageLimitAchieved: false,
        currentLimitAchieved: false,
        powerLimitAchieved: false,
        peakCurrentRippleA: 1,
        currentRegulationToleranceA: undefined,
        energyToBeDeliveredWh: undefined,
      }),
    );
    // 8 exponentials, status, isolation (absent): 26 bytes, the limit flags onward missing.
    const d = decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0xff, payload: full.payload.subarray(0, 26) })));
    expect(d?.kind).toBe('tolerated');
    if (d?.kind !== 'tolerated') return;
    expect(d.usable).toBe(true);
    expect(d.problem.field).toBe('voltageLimitAchieved');
    expect(d.message.fields).toMatchObject({ maxPowerW: 50000, presentVoltageV: 400, status: 1 });
  });

  it('leaves commands to the ordinary decoder', () => {
    expect(decodeStatusTolerant(frameOf(encodeFrame({ modId: 0x27, subId: 0x40, reqId: 1, payload: Uint8Array.of(0) })))).toBeUndefined();
  });
});
