/**
 * Field-by-field comparison of a request our host sent with the captured host's request. Fields
 * that legitimately differ between two runs of the same session are not compared: request IDs
 * are not fields at all (the replayer re-stamps them), and fields named like session IDs,
 * timestamps or nonces are chosen at random or by the clock.
 */
import { bytesToHex } from '../../codec/frame.js';

export interface FieldDifference {
  /** Dotted path of the field, e.g. "limits.maxVoltageV". */
  path: string;
  captured: unknown;
  host: unknown;
}

/** Field names whose values differ from run to run by design. */
export const VOLATILE_FIELD = /session_?id|timestamp|^time|nonce|random|challenge/i;

const shown = (v: unknown): unknown => (v instanceof Uint8Array ? bytesToHex(v) : v);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isRecord(a) && isRecord(b)) return fieldDifferences(a, b).length === 0;
  return Object.is(a, b);
}

export function fieldDifferences(captured: Record<string, unknown>, host: Record<string, unknown>, prefix = ''): FieldDifference[] {
  const out: FieldDifference[] = [];
  for (const key of new Set([...Object.keys(captured), ...Object.keys(host)])) {
    if (VOLATILE_FIELD.test(key)) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    const [c, h] = [captured[key], host[key]];
    if (isRecord(c) && isRecord(h)) out.push(...fieldDifferences(c, h, path));
    else if (!same(c, h)) out.push({ path, captured: shown(c), host: shown(h) });
  }
  return out;
}
