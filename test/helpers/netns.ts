/**
 * Network namespaces and veth pairs for Ethernet tests and benches. Everything is created inside
 * namespaces this process makes (named fv2g-<random>), so no frame ever leaves this machine, and
 * `destroy()` removes them again (deleting a namespace deletes the veth end inside it).
 *
 * A pcap session must run inside the namespace, so each side runs as a child process under
 * `ip netns exec`, spoken to with JSON lines over stdin/stdout (see `spawnInNamespace`).
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether namespaces can be made here (root and iproute2); tests fail loudly if not. */
export function netnsAvailable(): { ok: true } | { ok: false; why: string } {
  const probe = `fv2g-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return { ok: true };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

export interface VethSide {
  ns: string;
  iface: string;
  mac: string;
}

export interface VethPair {
  a: VethSide;
  b: VethSide;
  /** Deletes one end (and with it the pair) under the running transports. */
  deleteLink(side: 'a' | 'b'): void;
  /** Removes the namespaces; safe to call twice. */
  destroy(): void;
}

export interface VethOptions {
  /** Put both ends into one namespace (one process can then hold both transports). */
  sameNamespace?: boolean;
  macA?: string;
  macB?: string;
}

function operstate(side: VethSide): string {
  try {
    return execFileSync('ip', ['netns', 'exec', side.ns, 'cat', `/sys/class/net/${side.iface}/operstate`], { encoding: 'utf8' }).trim();
  } catch {
    return 'missing';
  }
}

/** The kernel reports carrier changes with up to a second's delay (linkwatch): wait for "up". */
async function waitOperUp(sides: VethSide[], ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (sides.some((s) => operstate(s) !== 'up')) {
    if (Date.now() > end) throw new Error(`veth did not come up: ${sides.map((s) => `${s.iface}=${operstate(s)}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates namespace(s) and a veth pair whose ends never appear in the root namespace. */
export async function createVethPair(options: VethOptions = {}): Promise<VethPair> {
  // FV2G_NETNS_TAG: a prefix that tells concurrent benches' namespaces apart (e.g. a branch name).
  const tag = `${process.env.FV2G_NETNS_TAG ?? ''}${randomBytes(3).toString('hex')}`;
  const nsA = `fv2g-${tag}-a`;
  const nsB = options.sameNamespace ? nsA : `fv2g-${tag}-b`;
  const a: VethSide = { ns: nsA, iface: 'fv2ga', mac: options.macA ?? '02:f2:00:00:00:0a' };
  const b: VethSide = { ns: nsB, iface: 'fv2gb', mac: options.macB ?? '02:f2:00:00:00:0b' };
  const namespaces = [...new Set([nsA, nsB])];
  const destroy = (): void => {
    for (const ns of namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    for (const ns of namespaces) ip('netns', 'add', ns);
    ip('-n', nsA, 'link', 'add', a.iface, 'type', 'veth', 'peer', 'name', b.iface, 'netns', nsB);
    for (const side of [a, b]) {
      ip('-n', side.ns, 'link', 'set', side.iface, 'address', side.mac);
      ip('-n', side.ns, 'link', 'set', side.iface, 'up');
      // Keep IPv6 from sending router solicitations and the like onto the test link.
      try {
        execFileSync('ip', ['netns', 'exec', side.ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${side.iface}.disable_ipv6=1`], { stdio: 'ignore' });
      } catch {
        // IPv6 may be off already.
      }
    }
    await waitOperUp([a, b]);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    a,
    b,
    deleteLink: (side) => {
      const s = side === 'a' ? a : b;
      ip('-n', s.ns, 'link', 'del', s.iface);
    },
    destroy,
  };
}

export type JsonLine = Record<string, unknown> & { ev?: string };

/** A child process in a namespace, exchanging JSON lines. */
export class NsChild {
  private readonly lines: JsonLine[] = [];
  private waiters: { match: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }[] = [];
  readonly stderr: string[] = [];
  private exited = false;

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (text) => {
      let line: JsonLine;
      try {
        line = JSON.parse(text) as JsonLine;
      } catch {
        this.stderr.push(`(stdout) ${text}`);
        return;
      }
      this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (w.match(line)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(line);
        }
      }
    });
    proc.stderr.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    proc.on('exit', () => {
      this.exited = true;
    });
  }

  send(msg: Record<string, unknown>): void {
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  /** Every line seen so far (for assertions on what did not arrive). */
  seen(ev?: string): JsonLine[] {
    return ev === undefined ? [...this.lines] : this.lines.filter((l) => l.ev === ev);
  }

  /** The first line (already seen or coming) that matches; rejects after `ms` of wall time. */
  waitFor(match: (l: JsonLine) => boolean, ms = 10_000, from = 0): Promise<JsonLine> {
    const hit = this.lines.slice(from).find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`child did not answer in ${ms} ms; stderr: ${this.stderr.join('').slice(-2000)}`));
      }, ms);
      const done = (l: JsonLine): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Sends a request carrying a fresh id and waits for the line that answers it. */
  async request(msg: Record<string, unknown>, ms = 10_000): Promise<JsonLine> {
    const id = ++requestSeq;
    const answer = this.waitFor((l) => l.id === id, ms);
    this.send({ ...msg, id });
    return answer;
  }

  get count(): number {
    return this.lines.length;
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

let requestSeq = 0;

/** Runs `node --import tsx <script> <json args>` inside namespace `ns`. */
export function spawnInNamespace(ns: string, script: string, args: unknown): NsChild {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, JSON.stringify(args)], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new NsChild(proc);
}
