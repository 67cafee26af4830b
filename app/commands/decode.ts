/**
 * `freev2g decode`: HCI frames in, one JSON object per frame out. Frames come as hex arguments,
 * as hex on stdin (any spacing, several frames per line or one frame over several lines), or
 * from a pcap file written by `--capture` (or by Wireshark on the module's Ethernet link).
 */
import type { Command } from 'commander';
import { type DecodeFrameOptions, type DecodedMessage, decodeMessage } from '../../codec/catalog.js';
import { resultCodeName } from '../../codec/message.js';
import { Deframer, bytesToHex, hexToBytes, type DeframeItem } from '../../codec/frame.js';
import { unwrapEthernet } from '../capture.js';
import { readCapture } from '../pcapng.js';
import { CliError, EXIT } from '../exit.js';
import { toJsonLine } from '../output/json.js';

export interface DecodedLine {
  modId?: number;
  subId?: number;
  reqId?: number;
  module?: string;
  message?: string;
  direction?: string;
  fields?: Record<string, unknown>;
  error?: { kind: string; detail: string };
  hex?: string;
  /** With --names: enumeration values and the result code by name. */
  names?: Record<string, unknown>;
  at?: string;
  src?: string;
  dst?: string;
}

interface DecodeOpts {
  direction?: string;
  rawExponentials?: boolean;
  pcap?: string;
  names?: boolean;
}

type AnyType = { fields?: Record<string, AnyType>; names?: readonly string[] };

/**
 * Names of the enumeration values among the fields (top level and nested structs), e.g.
 * { state: 'C' } for ControlPilot.StateChanged { state: 2 }; fields stay numbers.
 */
export function enumNames(type: unknown, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const schema = (type as AnyType).fields ?? {};
  for (const [key, value] of Object.entries(fields)) {
    const t = schema[key];
    if (!t) continue;
    if (t.names && typeof value === 'number' && t.names[value] !== undefined) out[key] = t.names[value];
    else if (t.fields && typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
      const inner = enumNames(t, value as Record<string, unknown>);
      if (Object.keys(inner).length > 0) out[key] = inner;
    }
  }
  return out;
}

function withNames(line: DecodedLine, message: DecodedMessage): DecodedLine {
  const def = message.def;
  const type = def.kind === 'status' ? def.payload : message.direction === 'request' ? def.request : def.response;
  const names = enumNames(type, message.fields);
  if (message.direction === 'response' && typeof message.fields.code === 'number') names.code = resultCodeName(def.module, message.fields.code);
  return Object.keys(names).length > 0 ? { ...line, names } : line;
}

export interface DescribeOptions extends DecodeFrameOptions {
  names?: boolean;
}

/** One deframer item as the line `decode` prints. */
export function describeItem(item: DeframeItem, options: DescribeOptions = {}): DecodedLine {
  if ('error' in item) return { error: { kind: item.error.kind, detail: item.error.detail } };
  const { frame } = item;
  const r = decodeMessage(frame, options);
  const head = { modId: frame.modId, subId: frame.subId, reqId: frame.reqId };
  if (!r.ok) {
    const e = r.error;
    // Payload errors: "<Module>.<Message>: <field>: <what>" (the detail names the field).
    const detail = 'field' in e ? `${e.message}: ${e.detail}` : e.detail;
    return { ...head, error: { kind: e.kind, detail }, hex: bytesToHex(frame.payload) };
  }
  const m = r.message;
  const line = { ...head, module: m.module, message: m.message, direction: m.direction, fields: m.fields };
  return options.names ? withNames(line, m) : line;
}

/**
 * After a bad frame the deframer resynchronises byte by byte and reports the rest of the bad
 * frame as "bytes before a start marker"; that is one error, not two.
 */
function dropResyncNoise(items: DeframeItem[]): DeframeItem[] {
  return items.filter((item, i) => {
    const prev = items[i - 1];
    return !('error' in item && item.error.kind === 'missingStart' && prev !== undefined && 'error' in prev);
  });
}

/**
 * Every frame (and framing error) in a hex text. Lines may hold several frames, and a frame may
 * go on over the next lines; a line that starts with C0 while a frame is still unfinished starts
 * afresh (the unfinished one is reported), so one truncated frame does not swallow the rest.
 */
export function decodeHexText(text: string, options: DescribeOptions = {}): DecodedLine[] {
  const bad = /(?:0x|[0-9a-f\s:,-])*([\s\S]?)/i.exec(text)?.[1];
  // hexToBytes skips anything that is not a digit; here a stray character means a typo.
  if (bad) throw new SyntaxError(`${JSON.stringify(bad)} is not a hex digit (separators: space , : -)`);
  const deframer = new Deframer();
  const out: DecodedLine[] = [];
  const flush = (): void => {
    const rest = deframer.timeout();
    if (rest) out.push({ error: { kind: rest.kind, detail: rest.detail } });
  };
  for (const line of text.split(/\r?\n/)) {
    const bytes = hexToBytes(line);
    if (bytes.length === 0) continue;
    if (bytes[0] === 0xc0 && deframer.pending > 0) flush();
    for (const item of dropResyncNoise(deframer.push(bytes))) out.push(describeItem(item, options));
  }
  flush();
  return out;
}

/**
 * Which way each frame of a capture went. A frame answering an earlier frame with the same
 * module, Sub-ID and request ID from the other address is a response; status messages (request
 * ID 0xFF, Sub-ID >= 0x80) come from a module; and once an address is known to be a module's,
 * everything it sends travels to the host.
 */
export class DirectionGuesser {
  private readonly modules = new Set<string>();
  private readonly open = new Map<string, string>();

  guess(src: string, dst: string, hci: Uint8Array): DecodeFrameOptions['direction'] {
    // Per pair of addresses: several hosts may use the same request IDs at once.
    const key = `${hci[1]}/${hci[2]}/${hci[3]}/${[src, dst].sort().join('-')}`;
    const asker = this.open.get(key);
    let toHost: boolean;
    if (asker === dst) toHost = true;
    else if (this.modules.has(src)) toHost = true;
    else if (this.modules.has(dst)) toHost = false;
    else toHost = hci[3] === 0xff && (hci[2] as number) >= 0x80;
    if (toHost) {
      this.modules.add(src);
      if (asker === dst) this.open.delete(key);
    } else {
      this.open.set(key, src);
    }
    return toHost ? 'toHost' : 'toModule';
  }
}

export function decodePcapFile(path: string, options: DescribeOptions = {}): DecodedLine[] {
  const { linkType, records } = readCapture(path);
  if (linkType !== 1) throw new CliError(`${path}: link type ${linkType} is not Ethernet (1)`, EXIT.failure);
  const guesser = new DirectionGuesser();
  const out: DecodedLine[] = [];
  for (const rec of records) {
    const eth = unwrapEthernet(rec.data);
    if (!eth) continue; // bridged traffic that is not HCI
    const direction = options.direction ?? guesser.guess(eth.src, eth.dst, eth.hci);
    const where = { at: new Date(rec.atMs).toISOString(), src: eth.src, dst: eth.dst };
    const deframer = new Deframer();
    for (const item of dropResyncNoise(deframer.push(eth.hci))) out.push({ ...where, ...describeItem(item, { ...options, direction }) });
    const rest = deframer.timeout();
    if (rest) out.push({ ...where, error: { kind: rest.kind, detail: rest.detail }, hex: bytesToHex(eth.hci) });
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function directionOption(value: string | undefined): DecodeFrameOptions['direction'] {
  if (value === undefined) return undefined;
  if (value === 'request' || value === 'toModule') return 'toModule';
  if (value === 'response' || value === 'toHost') return 'toHost';
  throw new CliError(`--direction must be "request" or "response", got "${value}"`, EXIT.usage);
}

async function run(hex: string[], opts: DecodeOpts): Promise<void> {
  const options: DescribeOptions = { rawExponentials: opts.rawExponentials ?? false, names: opts.names ?? false };
  const direction = directionOption(opts.direction);
  if (direction) options.direction = direction;
  let lines: DecodedLine[];
  if (opts.pcap !== undefined) {
    try {
      lines = decodePcapFile(opts.pcap, options);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(e instanceof Error ? e.message : String(e), EXIT.failure);
    }
  } else {
    const text = hex.length > 0 ? hex.join(' ') : await readStdin();
    try {
      lines = decodeHexText(text, options);
    } catch (e) {
      throw new CliError(`not hex: ${e instanceof Error ? e.message : String(e)}`, EXIT.failure);
    }
  }
  for (const line of lines) process.stdout.write(`${toJsonLine(line)}\n`);
  if (lines.some((l) => l.error)) process.exitCode = EXIT.failure;
}

export function register(program: Command): void {
  program
    .command('decode')
    .description('Decode HCI frames (hex arguments, hex on stdin, or a pcap capture) into JSON lines')
    .argument('[hex...]', 'frame bytes in hex, e.g. C0 29 40 00 00 01 01 12 C1 (several frames may follow each other)')
    .option('--pcap <file>', 'read the frames from a pcap or pcapng capture (ethertype 0x6003, as written by --capture or Wireshark)')
    .option('--direction <dir>', 'decode commands as "request" (host to module) or "response"; default: guess')
    .option('--raw-exponentials', 'show exponential values as {value, exponent} instead of numbers')
    .option('--names', 'add "names": enumeration values and the result code by name')
    .addHelpText(
      'after',
      '\nOutput: one JSON object per frame: modId, subId, reqId, module, message, direction, fields\n' +
        '(byte arrays as hex), or error {kind, detail}. Exit code 0, or 1 when any frame failed to decode.',
    )
    .action(run);
}
