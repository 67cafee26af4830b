/**
 * Crash-safe session journal beside the records file (`<records>.journal.<pid>`, one per host
 * process, so that several processes may share a records file): what is known of
 * each session in progress (station, start, energy and SOC at the last checkpoint), rewritten
 * atomically (temporary file, fsync, rename) when a session starts, every `checkpointMs` of
 * charging, and when it ends. A host killed mid-session (SIGKILL, power loss) leaves the journal
 * behind; the next start turns each entry of a journal whose process is gone into a record
 * marked `interrupted` and clears it. Journals of processes still running are left alone.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SessionRecord, StationRole } from '../machines/station-events.js';

/** What the journal knows of one session in progress. */
export interface JournalEntry {
  station: StationRole;
  startedAt: number;
  /** Clock time of the last checkpoint (the start until one is taken). */
  checkpointAt: number;
  energyDeliveredWh: number;
  socPercent?: number;
  moduleMac?: string;
}

/** The record of a session the host did not see end. */
export type InterruptedRecord = Pick<SessionRecord, 'station' | 'startedAt' | 'endedAt' | 'energyDeliveredWh' | 'stopReason' | 'socEndPercent'> & {
  interrupted: true;
  moduleMac?: string;
};

export const DEFAULT_CHECKPOINT_MS = 10_000;

export const journalPathFor = (recordsPath: string, pid = process.pid): string => `${recordsPath}.journal.${pid}`;

/** Whether a process of that id runs (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Journals beside `recordsPath` left by processes that are gone (also the older pid-less name). */
export function orphanJournals(recordsPath: string): string[] {
  const dir = dirname(recordsPath);
  const prefix = `${basename(recordsPath)}.journal`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (name === prefix) return [join(dir, name)];
    const m = name.startsWith(prefix) ? /^\.(\d+)$/.exec(name.slice(prefix.length)) : null;
    const pid = m ? Number(m[1]) : undefined;
    return pid !== undefined && pid !== process.pid && !alive(pid) ? [join(dir, name)] : [];
  });
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The entries a previous process left (none when the file is missing or unreadable). */
export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as { sessions?: JournalEntry[] };
    return Array.isArray(data.sessions) ? data.sessions.filter((e) => typeof e?.startedAt === 'number' && typeof e.station === 'string') : [];
  } catch {
    return [];
  }
}

export function interruptedRecord(e: JournalEntry): InterruptedRecord {
  return {
    station: e.station,
    startedAt: e.startedAt,
    endedAt: e.checkpointAt,
    energyDeliveredWh: e.energyDeliveredWh,
    stopReason: 'hostInterrupted',
    interrupted: true,
    ...(e.socPercent !== undefined ? { socEndPercent: e.socPercent } : {}),
    ...(e.moduleMac !== undefined ? { moduleMac: e.moduleMac } : {}),
  };
}

export class SessionJournal {
  private readonly open = new Map<string, JournalEntry>();

  constructor(
    readonly path: string,
    /** Every write goes through this (it turns a failure into one warning line). */
    private readonly guard: (write: () => void) => boolean,
    private readonly checkpointMs = DEFAULT_CHECKPOINT_MS,
  ) {}

  /** Entries left by processes that did not end their sessions (`orphans`); their journals are cleared. */
  recover(orphans: readonly string[]): JournalEntry[] {
    return orphans.flatMap((path) => {
      const left = readJournal(path);
      this.guard(() => rmSync(path, { force: true }));
      return left;
    });
  }

  begin(key: string, entry: Omit<JournalEntry, 'checkpointAt' | 'energyDeliveredWh'>): void {
    this.open.set(key, { ...entry, checkpointAt: entry.startedAt, energyDeliveredWh: 0 });
    this.flush();
  }

  /** Energy so far; written when `checkpointMs` passed since the last checkpoint. */
  progress(key: string, at: number, energyDeliveredWh: number, socPercent: number | undefined): void {
    const e = this.open.get(key);
    if (!e) return;
    const due = at - e.checkpointAt >= this.checkpointMs;
    e.energyDeliveredWh = Math.max(e.energyDeliveredWh, energyDeliveredWh);
    if (socPercent !== undefined) e.socPercent = socPercent;
    if (!due) return;
    e.checkpointAt = at;
    this.flush();
  }

  end(key: string): void {
    if (!this.open.delete(key)) return;
    this.flush();
  }

  private flush(): void {
    if (this.open.size === 0) this.guard(() => rmSync(this.path, { force: true }));
    else this.guard(() => writeAtomically(this.path, `${JSON.stringify({ sessions: [...this.open.values()] })}\n`));
  }
}
