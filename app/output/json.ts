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

/** One JSON line, without the newline. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}
