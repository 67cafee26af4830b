/**
 * Link events for the Ethernet transport (issue 12, target 2: no timers at rest). The kernel
 * announces every change of an interface (carrier, administrative state, deletion, a new one of
 * that name) on rtnetlink; Node has no netlink sockets and the project takes no native addon for
 * it, so the events come from `ip -o monitor link` (iproute2, already needed for namespaces and
 * for `ip link set up`), one child process per transport, started when the transport opens. It
 * sleeps in the kernel until a link changes: no CPU and no wake-up at rest. sysfs cannot replace
 * it: operstate and flags do not notify inotify, so watching them means polling (the old way,
 * 2 file reads every 500 ms, 4-6 thread-pool round trips a second).
 *
 * The events only say "look again": the transport reads sysfs on each one, so there is a single
 * source of truth for the state and the fake-sysfs tests stay meaningful.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LinkWatch {
  close(): void;
}

export interface LinkWatchHandlers {
  /** Something about this interface changed (or it was created or deleted): read its state again. */
  onChange(): void;
  /** The watch is running (the netlink socket may still be binding: read the state once more). */
  onReady(): void;
  /** The watch cannot run or stopped on its own; the transport falls back to polling. */
  onFail(why: string): void;
}

/** Starts watching `iface`; tests inject their own (a fake sysfs has no netlink behind it). */
export type LinkWatchFactory = (iface: string, handlers: LinkWatchHandlers) => LinkWatch;

/** Whether one `ip -o monitor link` line is about `iface` ("3: eth0: ...", "3: veth0@if2: ...", "Deleted 3: ..."). */
export function mentionsInterface(line: string, iface: string): boolean {
  const m = /^(?:Deleted\s+)?(?:\[[^\]]*\]\s*)?\d+:\s+([^:@\s]+)[@:]/.exec(line);
  return m?.[1] === iface;
}

/**
 * `ip monitor` must not outlive the host, even one killed by SIGKILL (it would sit in the
 * namespace, keeping it alive, until the next link event). A small sh wrapper holds our pipe on
 * fd 3: when the pipe ends (close() or the host died) it stops the monitor. When the monitor
 * stops on its own (no iproute2, no rights) the wrapper says so in a `!exit <code>` line.
 */
const WRAPPER = 'exec 3<&0; ip -o monitor link </dev/null & p=$!; { read -r _ <&3; kill $p 2>/dev/null; } & wait $p; echo "!exit $?"';

/**
 * `ip -o monitor link` as the event source, started once the code that opened the transport has
 * run to its next wait (setImmediate). Spawning forks this process (about 10 ms at start-up,
 * more under load, plus loading child_process and readline), and the host's first frame is
 * sent before that wait, so it goes out without it (issue 12 target 3). A change in between is
 * not lost: `onReady` reads the state again, as for a change while the monitor binds its socket.
 */
export const ipMonitorLinkWatch: LinkWatchFactory = (iface, handlers) => {
  let watch: LinkWatch | undefined;
  let closed = false;
  const later = setImmediate(() => {
    if (!closed) watch = startIpMonitor(iface, handlers);
  });
  return {
    close: () => {
      closed = true;
      clearImmediate(later);
      watch?.close();
    },
  };
};

function startIpMonitor(iface: string, handlers: LinkWatchHandlers): LinkWatch {
  let closed = false;
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', WRAPPER], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch (e) {
    queueMicrotask(() => handlers.onFail(`cannot start "ip monitor link": ${(e as Error).message}`));
    return { close: () => undefined };
  }
  // Neither the child nor its pipes keep the host process alive.
  child.unref();
  for (const stream of [child.stdin, child.stdout]) {
    if (stream && 'unref' in stream && typeof stream.unref === 'function') stream.unref();
  }
  const fail = (why: string): void => {
    if (closed) return;
    closed = true;
    child.stdin?.destroy();
    handlers.onFail(why);
  };
  child.once('spawn', () => handlers.onReady());
  child.once('error', (e) => fail(`cannot run "ip monitor link" (iproute2): ${e.message}`));
  child.once('exit', (code, signal) => fail(`"ip monitor link" stopped (${signal ?? `exit ${code}`})`));
  child.stdin?.on('error', () => undefined);
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (closed) return;
      if (line.startsWith('!exit')) fail(`"ip monitor link" stopped (${line.slice(1)})`);
      else if (mentionsInterface(line, iface)) handlers.onChange();
    });
  }
  return {
    close: () => {
      if (closed) return;
      closed = true;
      // End of input: the wrapper stops the monitor and exits.
      child.stdin?.end();
    },
  };
}
