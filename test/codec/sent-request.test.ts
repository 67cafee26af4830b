import { describe, expect, it } from 'vitest';
import { V2g, decodeMessage, encodeRequest } from '../../codec/catalog.js';
import { parseFrame } from '../../codec/frame.js';
import { sentRequest } from '../../codec/sent-request.js';

describe('a sent command record (issue 12 target 4, eighth round)', () => {
  it('reads as the decode of its own frame: the same name, IDs, direction and fields', () => {
    const fields = { isolationLevel: 1, presentVoltageV: 399.5, presentCurrentA: 12.3, maxVoltageV: 500, maxCurrentA: 125, maxPowerW: 50_000, status: 0 };
    const frame = encodeRequest(V2g.EvseUpdateDcChargingParameters, 7, fields);
    const parsed = parseFrame(frame);
    if ('error' in parsed) throw new Error('frame');
    const decoded = decodeMessage(parsed.frame, { direction: 'toModule' });
    if (!decoded.ok) throw new Error('decode');
    const sent = sentRequest(V2g.EvseUpdateDcChargingParameters, 7, frame);
    expect(sent).toBeDefined();
    const { fields: decodedFields, ...head } = decoded.message;
    for (const [k, v] of Object.entries(head)) expect(sent?.[k as keyof typeof head]).toEqual(v);
    expect(sent?.fields).toEqual(decodedFields);
    // Read twice, decoded once.
    expect(sent?.fields).toBe(sent?.fields);
  });
});
