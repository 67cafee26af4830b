/**
 * `freev2g certs install --folder <dir> <eth|spi|sim>` and `freev2g certs list <eth|spi|sim>`:
 * the EVSE module's Plug & Charge certificates (Certificate Manager, manual chapter 20, 21.8.12).
 */
import type { Command } from 'commander';
import { createHciClient } from '../../machines/hci-client.js';
import { RealClock } from '../../util/clock.js';
import { PcapWriter, parseMac } from '../capture.js';
import { CertFileError, type CertListing, installCertificates, listCertificates, readCertBundle } from '../certs.js';
import { CliError, EXIT } from '../exit.js';
import { DEFAULT_MAC, loadStation } from '../config.js';
import { toJsonLine } from '../output/json.js';
import { type Link, linkKind, openLink } from './link.js';

interface CertFlags {
  interface?: string;
  mac?: string;
  folder?: string;
  config?: string;
  capture?: string;
  json?: boolean;
}

async function withClient<T>(linkName: string, flags: CertFlags, work: (client: ReturnType<typeof createHciClient>) => Promise<T>): Promise<T> {
  const clock = new RealClock();
  const link: Link = await openLink(linkKind(linkName), { ...(flags.interface ? { interface: flags.interface } : {}), ...(flags.mac ? { mac: flags.mac } : {}) }, clock);
  const client = createHciClient({ transport: link.transport, clock });
  const capture = flags.capture ? new PcapWriter(flags.capture) : undefined;
  if (capture) {
    const [host, module] = [parseMac(link.hostMac), parseMac(link.moduleMac)];
    client.traffic$.subscribe((t) => (t.dir === 'tx' ? capture.writeHci(t.at, host, module, t.bytes) : capture.writeHci(t.at, module, host, t.bytes)));
  }
  try {
    return await work(client);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT.failure);
  } finally {
    await client.close().catch(() => undefined);
    await link.close().catch(() => undefined);
    capture?.close();
  }
}

/** --folder, else the EVSE configuration's certs_folder (the reference's Evse.certs_folder), else '.'. */
export function certFolder(flags: Pick<CertFlags, 'folder' | 'config'>): string {
  if (flags.folder !== undefined) return flags.folder;
  if (flags.config === undefined) throw new CliError('certs install: give --folder <dir> or -c <file> (its certs_folder)', EXIT.usage);
  return loadStation(flags.config, 'EVSE').evse?.certsFolder ?? '.';
}

function linkOptions(cmd: Command): Command {
  return cmd
    .argument('<link>', 'how the module is connected: eth, spi, or sim (the simulated EVSE module)')
    .option('-i, --interface <name>', 'network interface (eth) or SPI device (spi, default spidev0.0)')
    .option('-m, --mac <mac>', `module MAC (eth; default ${DEFAULT_MAC})`)
    .option('--capture <file.pcap>', 'write the HCI frames to a pcap file (private key bytes masked)');
}

function printListing(l: CertListing, json: boolean): void {
  if (json) {
    process.stdout.write(`${toJsonLine(l)}\n`);
    return;
  }
  const show = (title: string, list: CertListing['own']): void => {
    process.stdout.write(`${title}: ${list.length} entr${list.length === 1 ? 'y' : 'ies'}\n`);
    for (const e of list) {
      const until = e.notValidAfter ? `, valid until ${new Date(e.notValidAfter * 1000).toISOString().slice(0, 10)}` : '';
      process.stdout.write(`  ${e.entry}: ${e.name ?? '?'} (flags 0x${(e.flags ?? 0).toString(16).padStart(4, '0')}${until})\n`);
    }
  };
  show('Own certificates (fs/cert/v2g/own/shared)', l.own);
  show('Mobility operator roots (fs/cert/v2g/trusted/mo)', l.moRoots);
}

export function register(program: Command): void {
  const certs = program.command('certs').description("Manage the EVSE module's Plug & Charge certificates (Certificate Manager)");
  linkOptions(
    certs
      .command('install')
      .description('Replace the SECC chain (0.crt + 0.key, 1.crt, 2.crt, 3.crt) and the MO root (moca.crt), PEM or DER')
      .option('--folder <dir>', 'folder holding 0.crt, 0.key, 1.crt, 2.crt, 3.crt and moca.crt')
      .option('-c, --config <file>', "take the folder from this EVSE configuration's certs_folder (when --folder is not given)"),
  )
    .addHelpText(
      'after',
      '\nAll files are read and checked first (0.key must be the key of 0.crt, and 0 -> 1 -> 2 -> 3 must link, 3 self-signed);\n' +
        'a missing, malformed or mismatched file is named and nothing on the module is removed.\n' +
        'The private key is never printed, and masked in captures.\n' +
        'Exit codes: 0 installed, 1 the module refused a command, 2 usage, 3 a certificate file is missing, malformed or does not fit the chain, 4 link.',
    )
    .action(async (link: string, flags: CertFlags) => {
      let bundle: ReturnType<typeof readCertBundle>;
      try {
        bundle = readCertBundle(certFolder(flags));
      } catch (e) {
        if (e instanceof CertFileError) throw new CliError(e.message, EXIT.config);
        throw e;
      }
      await withClient(link, flags, (client) => installCertificates(client, bundle, (t) => process.stdout.write(`${t}\n`)));
    });
  linkOptions(certs.command('list').description('List the own certificates and the mobility operator roots on the module'))
    .option('--json', 'print one JSON object')
    .action(async (link: string, flags: CertFlags) => {
      const listing = await withClient(link, flags, (client) => listCertificates(client));
      printListing(listing, flags.json ?? false);
    });
}
