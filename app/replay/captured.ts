/**
 * A captured session as the replayer needs it: every HCI frame between one host and one module,
 * in order, with its direction, time and decoded message; which request each response answers;
 * and the role of the host (from the V2G messages' roles).
 */
import { decodeMessage, lookup } from '../../codec/catalog.js';
import { Deframer, type Frame, encodeFrame } from '../../codec/frame.js';
import type { Role } from '../../codec/message.js';
import { unwrapEthernet } from '../capture.js';
import { DirectionGuesser } from '../commands/decode.js';
import { readCapture } from '../pcapng.js';

export interface CapturedFrame {
  /** 1-based position among the HCI frames of the capture (as `decode --pcap` numbers them). */
  frameNo: number;
  /** Milliseconds since the first frame of the session. */
  atMs: number;
  dir: 'toModule' | 'toHost';
  kind: 'request' | 'response' | 'status';
  bytes: Uint8Array;
  modId: number;
  subId: number;
  reqId: number;
  /** "Module.Message", or the IDs in hex for what the catalog does not know. */
  name: string;
  fields?: Record<string, unknown>;
  /** For a request: its response (the first frame back with the same module, Sub-ID and request ID). */
  response?: CapturedFrame;
}

export interface CapturedSession {
  frames: CapturedFrame[];
  role: Role | undefined;
  moduleMac: string;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function nameOf(modId: number, subId: number): string {
  const def = lookup(modId, subId);
  return def ? `${def.module}.${def.name}` : `${hex(modId)}/${hex(subId)}`;
}

/** The frame's bytes as captured (its checksum byte kept, 0x00 = not computed). */
export function frameBytes(f: Frame & { checksum?: number }): Uint8Array {
  const out = encodeFrame(f, { checksum: false });
  out[out.length - 2] = f.checksum ?? 0;
  return out;
}

/** The frames of one host/module pair (the first module seen, or `moduleMac`). */
export function loadCapturedSession(path: string, moduleMac?: string): CapturedSession {
  const { linkType, records } = readCapture(path);
  if (linkType !== 1) throw new Error(`${path}: link type ${linkType} is not Ethernet (1)`);
  const guesser = new DirectionGuesser();
  const frames: CapturedFrame[] = [];
  const open = new Map<string, CapturedFrame>();
  const roles = { EV: 0, EVSE: 0 };
  let module = moduleMac?.toLowerCase();
  let t0: number | undefined;
  let frameNo = 0;
  for (const rec of records) {
    const eth = unwrapEthernet(rec.data);
    if (!eth) continue;
    const dir = guesser.guess(eth.src, eth.dst, eth.hci) ?? 'toModule';
    const mac = dir === 'toHost' ? eth.src : eth.dst;
    for (const item of new Deframer().push(eth.hci)) {
      if (!('frame' in item)) continue;
      frameNo++;
      module ??= mac;
      if (mac !== module) continue;
      const f = item.frame;
      const decoded = decodeMessage(f, { direction: dir });
      const def = decoded.ok ? decoded.message.def : lookup(f.modId, f.subId);
      const kind = def?.kind === 'command' ? (dir === 'toModule' ? 'request' : 'response') : dir === 'toModule' ? 'request' : 'status';
      t0 ??= rec.atMs;
      const frame: CapturedFrame = {
        frameNo,
        atMs: rec.atMs - t0,
        dir,
        kind,
        bytes: frameBytes(f),
        modId: f.modId,
        subId: f.subId,
        reqId: f.reqId,
        name: nameOf(f.modId, f.subId),
        ...(decoded.ok ? { fields: decoded.message.fields } : {}),
      };
      if (def?.role) roles[def.role]++;
      const key = `${f.modId}/${f.subId}/${f.reqId}`;
      if (kind === 'request') open.set(key, frame);
      else if (kind === 'response') {
        const req = open.get(key);
        if (req) {
          req.response = frame;
          open.delete(key);
        }
      }
      frames.push(frame);
    }
  }
  if (module === undefined) throw new Error(`${path}: no HCI frames (ethertype 0x6003) in the capture`);
  const role = roles.EVSE > roles.EV ? 'EVSE' : roles.EV > roles.EVSE ? 'EV' : undefined;
  return { frames, role, moduleMac: module };
}
