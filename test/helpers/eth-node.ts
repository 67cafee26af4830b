/**
 * One side of an Ethernet test, run inside a network namespace by test/helpers/netns.ts.
 * argv[2]: JSON EthTransportOptions (less clock/importer). Reads JSON lines on stdin:
 *   {op:'send', hex, id}     send an HCI frame through the transport
 *   {op:'raw', hex, id}      inject a raw Ethernet frame, bypassing the transport (filter tests)
 *   {op:'counters', id}      report the transport's counters
 *   {op:'close', id}         close the transport and exit
 * Writes JSON lines: {ev:'ready', ownMac}, {ev:'frame', hex}, {ev:'link', up, kind?, reason?},
 * {ev:'openError', kind, message}, and {id, ...} answers to requests.
 */
import { createInterface } from 'node:readline';
import { bytesToHex, hexToBytes } from '../../codec/frame.js';
import { createEthTransport, type EthTransportOptions } from '../../transports/eth.js';
import { loadPcap } from '../../transports/native.js';
import { TransportError } from '../../transports/transport.js';

const out = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as EthTransportOptions;
  let transport: Awaited<ReturnType<typeof createEthTransport>>;
  try {
    transport = await createEthTransport(options);
  } catch (e) {
    out({ ev: 'openError', kind: e instanceof TransportError ? e.kind : 'unknown', message: (e as Error).message });
    process.exit(0);
  }
  const t = transport;
  const pcap = await loadPcap();
  // A second session only for raw injection; its filter matches nothing we care about.
  const raw = pcap.createSession(options.iface, { filter: 'ether proto 0x88b6', buffer_timeout: 0, promiscuous: false });

  t.frames$.subscribe((f) => out({ ev: 'frame', hex: bytesToHex(f) }));
  t.linkState$.subscribe((s) => out(s.up ? { ev: 'link', up: true } : { ev: 'link', up: false, kind: s.error?.kind, reason: s.reason }));
  out({ ev: 'ready', ownMac: t.ownMac, warnings: t.warnings });

  createInterface({ input: process.stdin }).on('line', (text) => {
    const msg = JSON.parse(text) as { op: string; hex?: string; id?: number };
    const id = msg.id;
    switch (msg.op) {
      case 'send':
        t.send(hexToBytes(msg.hex ?? '')).then(
          () => out({ id, ok: true }),
          (e: unknown) => out({ id, ok: false, kind: e instanceof TransportError ? e.kind : 'unknown', message: String(e) }),
        );
        break;
      case 'raw':
        try {
          raw.inject(Buffer.from(hexToBytes(msg.hex ?? '')));
          out({ id, ok: true });
        } catch (e) {
          out({ id, ok: false, message: String(e) });
        }
        break;
      case 'counters':
        out({ id, ...t.counters });
        break;
      case 'close':
        try {
          raw.close();
        } catch {
          // The interface may be gone already.
        }
        void t.close().then(() => {
          out({ id, ok: true });
          process.exit(0);
        });
        break;
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

void main();
