/**
 * HCI over Ethernet (manual 9.1): each HCI frame travels in an Ethernet frame of type 0x6003,
 * behind the 4-byte control header. Capture and injection go through libpcap (`pcap` package,
 * loaded lazily). The same transport plays the host (talks to one module's MAC) or, for the
 * simulator, the module (answers whichever host addressed it).
 *
 * The interface is watched through link events (transports/link-watch.ts: `ip monitor link`),
 * each followed by one read of /sys/class/net/<if>: deleting or downing it takes the link down
 * with a typed error, and the link comes back when the interface does. No timer runs at rest;
 * only when the event source cannot run is sysfs polled on the injected clock.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import type { FramingError } from '../codec/frame.js';
import {
  CONTROL_HEADER_SIZE,
  controlPayloadEnd,
  ETH_HEADER_SIZE,
  ETH_MAX_CONTROL_PAYLOAD,
  ethernetControlFrameLength,
  formatMac,
  macAt,
  parseMac,
  type MacAddress,
  writeEthernetControlFrame,
} from '../codec/link-headers.js';
import { type Clock, RealClock, type TimerId } from '../util/clock.js';
import { type FrameAssembler, sinkAssembler } from './assembler.js';
import { FrameOutlet } from './frame-outlet.js';
import { DEFAULT_SYSFS_NET, type EthRole, type IfaceState, captureFilter, classifyPcapError, readIfaceState, readOwnMac, stateError } from './eth-iface.js';
import { ipMonitorLinkWatch, type LinkWatch, type LinkWatchFactory } from './link-watch.js';
import { type Importer, loadPcap, type PcapModule, type PcapPacket, type PcapSessionLike } from './native.js';
import { type FrameListener, type LinkState, type Transport, TransportError } from './transport.js';

export { captureFilter, classifyPcapError, type EthRole, readIfaceState } from './eth-iface.js';

export interface EthTransportOptions {
  iface: string;
  /**
   * Host role: the module's MAC (required). Module role: optional; when given only that host is
   * accepted, otherwise any host that addresses this module is.
   */
  peerMac?: string;
  /** Source MAC of sent frames; default the interface's own (/sys/class/net/<if>/address). */
  ownMac?: string;
  role?: EthRole;
  clock?: Clock;
  /** Interface poll interval when link events are not available (default 500 ms). */
  pollMs?: number;
  /** Source of link events (default `ip monitor link`); 'poll' reads sysfs every `pollMs` instead. */
  linkWatch?: LinkWatchFactory | 'poll';
  /** Where interface state is read (tests point this at a fake tree). */
  sysfsNet?: string;
  /** Module loader for `pcap` (tests inject a fake). */
  importer?: Importer;
}

export interface EthCounters {
  /** HCI frames delivered (to the direct listeners and frames$). */
  received: number;
  /** Captured Ethernet frames that were not control frames for us (wrong type, header, address). */
  ignored: number;
  /** HCI frames handed to the interface. */
  sent: number;
  /** Framing errors in the received byte stream (bad checksum, missing end, ...). */
  framingErrors: number;
}

export interface EthTransport extends Transport {
  readonly role: EthRole;
  readonly iface: string;
  /** Source MAC of our frames, "xx:xx:xx:xx:xx:xx". */
  readonly ownMac: string;
  readonly counters: Readonly<EthCounters>;
  readonly framingErrors$: Subject<FramingError>;
  /** libpcap warnings that were silenced (e.g. "no IPv4 address assigned"). */
  readonly warnings: readonly string[];
}

/** Capture snapshot length: a whole Ethernet frame (1514 bytes, 1518 with a VLAN tag) fits. */
export const SNAP_LENGTH = 2048;
/** libpcap ring buffer per transport. */
export const RING_BYTES = 1 << 20;

export async function createEthTransport(options: EthTransportOptions): Promise<EthTransport> {
  const role = options.role ?? 'host';
  const sysfsNet = options.sysfsNet ?? DEFAULT_SYSFS_NET;
  if (role === 'host' && !options.peerMac) throw new TransportError('openFailed', 'the host role needs the module MAC (peerMac)');
  const peer = options.peerMac ? parseMac(options.peerMac) : undefined;

  const state = await readIfaceState(sysfsNet, options.iface);
  // An interface that is missing or switched off is a configuration error; one without carrier
  // (cable out, module off) opens with the link down and comes up when the carrier does.
  if (state.kind === 'missing' || state.kind === 'adminDown') throw stateError(options.iface, state);
  const ifaceMac = await readOwnMac(sysfsNet, options.iface);
  const ownMac = options.ownMac ? formatMac(parseMac(options.ownMac)) : ifaceMac;
  const pcap = await loadPcap(options.importer);

  const t = new EthTransportImpl(pcap, {
    role,
    iface: options.iface,
    own: parseMac(ownMac),
    ownMac,
    peer,
    // Frames addressed to a MAC other than the interface's own are only seen in promiscuous mode.
    promiscuous: ownMac !== ifaceMac,
    filter: captureFilter(role, ownMac, peer ? formatMac(peer) : undefined),
    clock: options.clock ?? new RealClock(),
    pollMs: options.pollMs ?? 500,
    sysfsNet,
    linkWatch: options.linkWatch ?? ipMonitorLinkWatch,
  });
  t.open(state);
  return t;
}

interface EthConfig {
  role: EthRole;
  iface: string;
  own: MacAddress;
  ownMac: string;
  peer: MacAddress | undefined;
  promiscuous: boolean;
  filter: string;
  clock: Clock;
  pollMs: number;
  sysfsNet: string;
  linkWatch: LinkWatchFactory | 'poll';
}

class EthTransportImpl implements EthTransport {
  /** Received frames: the direct listeners (the HCI client), then `frames$`. */
  readonly received = new FrameOutlet();
  readonly frames$ = this.received.frames$;
  readonly linkState$: BehaviorSubject<LinkState>;
  readonly framingErrors$ = new Subject<FramingError>();
  readonly counters: EthCounters = { received: 0, ignored: 0, sent: 0, framingErrors: 0 };
  readonly warnings: string[] = [];
  private session: PcapSessionLike | undefined;
  private readonly assembler: FrameAssembler;
  private readonly sendBuffer = Buffer.alloc(ethernetControlFrameLength(ETH_MAX_CONTROL_PAYLOAD));
  /** Module role: the host that last addressed us, where answers go. */
  private replyTo: MacAddress | undefined;
  private pollTimer: TimerId | undefined;
  private watch: LinkWatch | undefined;
  private polling = false;
  /** A link event came while a read was running: read once more when it ends. */
  private again = false;
  private closed = false;

  constructor(
    private readonly pcap: PcapModule,
    private readonly cfg: EthConfig,
  ) {
    this.linkState$ = new BehaviorSubject<LinkState>({ up: true });
    this.replyTo = cfg.role === 'module' ? cfg.peer : undefined;
    this.assembler = sinkAssembler(cfg.clock, this);
  }

  listen(listener: FrameListener): () => void {
    return this.received.listen(listener);
  }

  get role(): EthRole {
    return this.cfg.role;
  }
  get iface(): string {
    return this.cfg.iface;
  }
  get ownMac(): string {
    return this.cfg.ownMac;
  }

  /** Opens the capture (throws a typed error) and starts watching the interface. */
  open(initial: IfaceState): void {
    this.session = this.openSession();
    this.applyState(initial);
    this.startWatch();
  }

  private startWatch(): void {
    const factory = this.cfg.linkWatch;
    if (factory === 'poll') {
      this.schedulePoll();
      return;
    }
    this.watch = factory(this.cfg.iface, {
      onChange: () => void this.poll(),
      // A change between the first read and the event source's start would go unseen.
      onReady: () => void this.poll(),
      onFail: (why) => {
        this.watch = undefined;
        if (this.closed) return;
        this.warnings.push(`${why}; polling ${this.cfg.sysfsNet}/${this.cfg.iface} every ${this.cfg.pollMs} ms instead`);
        this.schedulePoll();
      },
    });
  }

  private openSession(): PcapSessionLike {
    // The handler is module-global in `pcap`; it is read when a session opens.
    this.pcap.warningHandler = (text: string) => {
      this.warnings.push(String(text));
    };
    let session: PcapSessionLike;
    try {
      session = this.pcap.createSession(this.cfg.iface, {
        filter: this.cfg.filter,
        // Immediate mode (libpcap on Linux then uses TPACKET_V2, no block timeout: every frame
        // wakes us at once; checked with strace, PACKET_VERSION 1).
        buffer_timeout: 0,
        // node-pcap's defaults (65535-byte snapshots in a 10 MB ring) size every ring slot for
        // 64 KiB: each frame lands on a cold page of a 10 MB ring, and the kernel holds 10 MB
        // per transport. Our frames are at most 1514 bytes (9.1: one control frame per
        // Ethernet frame), so 2 KiB slots in a 1 MiB ring (about 500 frames) are plenty.
        snap_length: SNAP_LENGTH,
        buffer_size: RING_BYTES,
        promiscuous: this.cfg.promiscuous,
      });
    } catch (e) {
      throw classifyPcapError(this.cfg.iface, e);
    }
    session.on('packet', (p) => this.onPacket(p));
    session.on('error', (e) => this.linkDown(classifyPcapError(this.cfg.iface, e)));
    return session;
  }

  /**
   * Headers are read in place (codec `controlPayloadEnd`, `macAt`) and the framing payload is
   * viewed (the assembler copies it): at rest this runs once per Ping Reply, cold and
   * unoptimised, so no decoded header objects per frame.
   */
  private onPacket(packet: PcapPacket): void {
    const caplen = Math.min(packet.header.readUInt32LE(8), packet.buf.length);
    // node-pcap reuses one Buffer for every packet; a plain Uint8Array view makes later
    // `slice()` calls real copies (Buffer#slice would alias the shared memory).
    const bytes = new Uint8Array(packet.buf.buffer, packet.buf.byteOffset, caplen);
    const end = controlPayloadEnd(bytes);
    if (end < 0 || !this.accepts(bytes)) {
      this.counters.ignored++;
      return;
    }
    if (this.cfg.role === 'module') this.replyTo = bytes.slice(6, 12);
    this.assembler.push(bytes.subarray(ETH_HEADER_SIZE + CONTROL_HEADER_SIZE, end));
  }

  /** Second check behind the capture filter (which a fake or a changed filter could widen). */
  private accepts(frame: Uint8Array): boolean {
    if (macAt(frame, 6, this.cfg.own)) return false;
    if (this.cfg.peer && !macAt(frame, 6, this.cfg.peer)) return false;
    return this.cfg.role === 'host' || macAt(frame, 0, this.cfg.own);
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('closed', `Ethernet transport on ${this.cfg.iface} is closed`));
    const link = this.linkState$.value;
    if (!link.up) {
      return Promise.reject(link.error ?? new TransportError('interfaceDown', `link on ${this.cfg.iface} is down: ${link.reason}`));
    }
    const dst = this.cfg.role === 'host' ? this.cfg.peer : this.replyTo;
    const session = this.session;
    if (!dst || !session) return Promise.reject(new TransportError('sendFailed', 'no host has addressed this module yet'));
    try {
      // The manual puts one framing payload per control frame and is silent on frames larger
      // than an Ethernet payload; the framing protocol is a byte stream, so those go in pieces.
      if (frame.length <= ETH_MAX_CONTROL_PAYLOAD) this.inject(session, dst, frame);
      else for (let at = 0; at < frame.length; at += ETH_MAX_CONTROL_PAYLOAD) this.inject(session, dst, frame.subarray(at, at + ETH_MAX_CONTROL_PAYLOAD));
    } catch (e) {
      // Most often the interface just went away: check now rather than wait for its event.
      void this.poll();
      return Promise.reject(new TransportError('sendFailed', `sending on ${this.cfg.iface} failed: ${(e as Error).message}`, e));
    }
    this.counters.sent++;
    return Promise.resolve();
  }

  /**
   * One Ethernet frame, written into the transport's own send buffer: libpcap copies it before
   * `inject` returns. No Ethernet frame is allocated per send, and no small (V8 on-heap) typed
   * array is handed to native code, which would first move it off the heap.
   */
  private inject(session: PcapSessionLike, dst: MacAddress, piece: Uint8Array): void {
    const length = writeEthernetControlFrame(this.sendBuffer, dst, this.cfg.own, piece);
    session.inject(this.sendBuffer.subarray(0, length));
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = this.cfg.clock.setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll().finally(() => this.schedulePoll());
    }, this.cfg.pollMs);
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.again = false;
        this.applyState(await readIfaceState(this.cfg.sysfsNet, this.cfg.iface));
      } while (this.again && !this.closed);
    } finally {
      this.polling = false;
    }
  }

  private applyState(s: IfaceState): void {
    if (this.closed) return;
    const err = stateError(this.cfg.iface, s);
    if (err) {
      // A deleted interface leaves a dead capture handle behind, and one switched off has had
      // its error reported by libpcap ("The interface went down") after which it delivers
      // nothing more: drop it, reopen on return.
      if (s.kind === 'missing' || s.kind === 'adminDown') this.dropSession();
      this.linkDown(err);
      return;
    }
    if (!this.session) {
      try {
        this.session = this.openSession();
      } catch (e) {
        this.linkDown(e instanceof TransportError ? e : classifyPcapError(this.cfg.iface, e));
        return;
      }
    }
    if (!this.linkState$.value.up) this.linkState$.next({ up: true });
  }

  private linkDown(error: TransportError): void {
    const cur = this.linkState$.value;
    if (!cur.up && cur.error?.kind === error.kind) return;
    this.linkState$.next({ up: false, reason: error.message, error });
  }

  private dropSession(): void {
    const s = this.session;
    this.session = undefined;
    try {
      s?.close();
    } catch {
      // Already closed by libpcap after the device vanished.
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.pollTimer !== undefined) this.cfg.clock.clearTimeout(this.pollTimer);
    this.watch?.close();
    this.assembler.dispose();
    this.dropSession();
    this.linkState$.next({ up: false, reason: 'closed' });
    this.received.complete();
    this.framingErrors$.complete();
    this.linkState$.complete();
    return Promise.resolve();
  }
}
