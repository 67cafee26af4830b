/**
 * JSON lines (app/output/json.ts): plain data is written as JSON writes it, and the values JSON
 * cannot write (byte arrays, bigints) are converted wherever they sit, with or without the fast
 * path for plain data (issue 12 target 4).
 */
import { describe, expect, it } from 'vitest';
import { toJsonLine } from '../../app/output/json.js';

describe('toJsonLine', () => {
  it('writes plain data as JSON does, non-finite numbers as null', () => {
    const sample = { type: 'sample', station: 'EVSE', at: 5, voltageV: 400.5, currentA: Number.NaN, powerW: Number.POSITIVE_INFINITY, list: [1, undefined, 'x'], skip: undefined };
    expect(toJsonLine(sample)).toBe(JSON.stringify(sample));
    expect(toJsonLine(sample)).toContain('"currentA":null,"powerW":null,"list":[1,null,"x"]}');
  });

  it('converts byte arrays and bigints, also deep inside plain data', () => {
    const line = { type: 'log', data: { fields: { exi: new Uint8Array([0xde, 0xad]), n: 10n, soc: Number.NaN } }, list: [{ b: new Uint8Array([1]) }] };
    expect(JSON.parse(toJsonLine(line))).toEqual({ type: 'log', data: { fields: { exi: 'dead', n: '10', soc: null } }, list: [{ b: '01' }] });
  });
});
