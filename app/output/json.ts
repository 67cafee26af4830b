/**
 * JSON rendering shared by `decode`, `--log-format json`, records and the dashboard: byte
 * arrays become hex strings, non-finite numbers become null, so every line parses anywhere.
 */
import { bytesToHex } from '../../codec/frame.js';

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/**
 * Whether only plain data is inside (primitives other than bigint, plain objects, arrays): then
 * the replacer would change nothing (JSON writes non-finite numbers as null itself), and
 * stringifying without it is several times faster. The log of a charge loop is one line per
 * sample and per parameter message (issue 12 target 4).
 */
function plain(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'bigint';
  if (Array.isArray(value)) return value.every(plain);
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const k in value) if (!plain((value as Record<string, unknown>)[k])) return false;
  return true;
}

/** One JSON line, without the newline. */
export function toJsonLine(value: unknown): string {
  return plain(value) ? JSON.stringify(value) : JSON.stringify(value, jsonReplacer);
}
