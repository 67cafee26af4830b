/**
 * Opening the link to one module for commands that are not station runs (certs): Ethernet,
 * SPI, or the simulated EVSE module (to try things without hardware, and for tests).
 */
import type { Transport } from '../../transports/transport.js';
import type { Clock } from '../../util/clock.js';
import { CliError, EXIT } from '../exit.js';
import { DEFAULT_MAC } from '../config.js';
import { transportError } from './hardware.js';

export type LinkKind = 'eth' | 'spi' | 'sim';

export interface Link {
  transport: Transport;
  hostMac: string;
  moduleMac: string;
  close(): Promise<void>;
}

export interface LinkOptions {
  interface?: string;
  mac?: string;
}

/** Host MAC shown in captures of SPI and simulated links (locally administered). */
export const NON_ETH_HOST_MAC = '02:00:00:00:00:01';

export function linkKind(value: string): LinkKind {
  if (value === 'eth' || value === 'spi' || value === 'sim') return value;
  throw new CliError(`the link must be eth, spi or sim, got "${value}"`, EXIT.usage);
}

export async function openLink(kind: LinkKind, o: LinkOptions, clock: Clock): Promise<Link> {
  const moduleMac = o.mac ?? DEFAULT_MAC;
  try {
    if (kind === 'eth') {
      if (!o.interface) throw new CliError('eth needs -i <interface>', EXIT.usage);
      const { createEthTransport } = await import('../../transports/eth.js');
      const transport = await createEthTransport({ iface: o.interface, peerMac: moduleMac, role: 'host', clock });
      return { transport, hostMac: transport.ownMac, moduleMac, close: () => transport.close() };
    }
    if (kind === 'spi') {
      const { openSpiTransport } = await import('../../transports/spi.js');
      const transport = await openSpiTransport({ device: o.interface ?? 'spidev0.0', clock });
      return { transport, hostMac: NON_ETH_HOST_MAC, moduleMac, close: () => transport.close() };
    }
    const { createSimulatedPair } = await import('../../sim/index.js');
    const pair = createSimulatedPair({ clock, evseMac: moduleMac });
    return { transport: pair.evseHost, hostMac: NON_ETH_HOST_MAC, moduleMac, close: async () => void (await pair.close()) };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw transportError(e);
  }
}
