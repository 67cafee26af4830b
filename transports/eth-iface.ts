/**
 * The Ethernet transport's view of its interface (transports/eth.ts): state from sysfs, typed
 * errors for a missing or downed interface and for libpcap's open errors, the capture filter,
 * and the interface's own MAC address.
 */
import { readFile } from 'node:fs/promises';
import { ETHERTYPE_CONTROL, formatMac, parseMac } from '../codec/link-headers.js';
import { TransportError } from './transport.js';

export type EthRole = 'host' | 'module';

export const DEFAULT_SYSFS_NET = '/sys/class/net';
const IFF_UP = 0x1;

export type IfaceState = { kind: 'up' } | { kind: 'noCarrier'; operstate: string } | { kind: 'adminDown' } | { kind: 'missing' };

/** Reads the interface's state from sysfs; 'unknown' (loopback, tun, dummy) counts as up. */
export async function readIfaceState(sysfsNet: string, iface: string): Promise<IfaceState> {
  let operstate: string;
  let flags: number;
  try {
    operstate = (await readFile(`${sysfsNet}/${iface}/operstate`, 'utf8')).trim();
    flags = parseInt((await readFile(`${sysfsNet}/${iface}/flags`, 'utf8')).trim(), 16);
  } catch {
    return { kind: 'missing' };
  }
  if (!Number.isNaN(flags) && (flags & IFF_UP) === 0) return { kind: 'adminDown' };
  if (operstate === 'up' || operstate === 'unknown') return { kind: 'up' };
  return { kind: 'noCarrier', operstate };
}

export function stateError(iface: string, s: IfaceState): TransportError | undefined {
  switch (s.kind) {
    case 'missing':
      return new TransportError('noSuchInterface', `network interface "${iface}" does not exist`);
    case 'adminDown':
      return new TransportError('interfaceDown', `network interface "${iface}" is down (ip link set ${iface} up)`);
    case 'noCarrier':
      return new TransportError('interfaceDown', `network interface "${iface}" has no link (operstate ${s.operstate})`);
    case 'up':
      return undefined;
  }
}

/** Maps a libpcap open error to a typed error. */
export function classifyPcapError(iface: string, e: unknown): TransportError {
  const text = e instanceof Error ? e.message : String(e);
  if (/not permitted|permission|EPERM|EACCES/i.test(text)) {
    return new TransportError('notPermitted', `no permission to capture on "${iface}": run as root or grant CAP_NET_RAW (${text})`, e);
  }
  if (/no such device|doesn't exist|does not exist|ENODEV/i.test(text)) {
    return new TransportError('noSuchInterface', `network interface "${iface}" does not exist (${text})`, e);
  }
  if (/not up|is down|ENETDOWN/i.test(text)) return new TransportError('interfaceDown', `network interface "${iface}" is down (${text})`, e);
  return new TransportError('openFailed', `cannot open "${iface}" for capture: ${text}`, e);
}

/** The capture filter: our Ethernet type, and the peer (host role) or our address (module role). */
export function captureFilter(role: EthRole, ownMac: string, peerMac: string | undefined): string {
  const proto = `ether proto 0x${ETHERTYPE_CONTROL.toString(16)}`;
  if (role === 'host') return `${proto} and ether src ${peerMac ?? ''}`;
  return peerMac ? `${proto} and ether dst ${ownMac} and ether src ${peerMac}` : `${proto} and ether dst ${ownMac}`;
}

export async function readOwnMac(sysfsNet: string, iface: string): Promise<string> {
  try {
    return formatMac(parseMac(await readFile(`${sysfsNet}/${iface}/address`, 'utf8')));
  } catch (e) {
    throw new TransportError('noSuchInterface', `cannot read the MAC address of "${iface}"`, e);
  }
}
