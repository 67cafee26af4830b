/**
 * The traffic records of the HCI client (machines/hci-client.ts): a frame sent or received with
 * its decode when it has one. Built for every frame, both ways.
 */
import type { DecodedMessage, decodeMessage } from '../codec/catalog.js';
import { parseFrame } from '../codec/frame.js';
import type { TrafficRecord } from './hci-client-types.js';

export function decodedOrNot(r: ReturnType<typeof decodeMessage>): { message?: DecodedMessage } {
  return r.ok ? { message: r.message } : {};
}

/** A traffic record built in one allocation (this runs for every frame, both ways). */
export function record(dir: 'tx' | 'rx', at: number, bytes: Uint8Array, r: ReturnType<typeof decodeMessage>): TrafficRecord {
  return r.ok ? { dir, at, bytes, message: r.message } : { dir, at, bytes };
}

export function parseFrameOrThrow(bytes: Uint8Array): Parameters<typeof decodeMessage>[0] {
  const r = parseFrame(bytes);
  if ('error' in r) throw new Error(`internal: built an invalid frame (${r.error.detail})`);
  return r.frame;
}
