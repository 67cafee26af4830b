/**
 * Crash-safe session journal beside the records file (`<records>.journal`): what is known of
 * each session in progress (station, start, energy and SOC at the last checkpoint), rewritten
 * atomically (temporary file, fsync, rename) when a session starts, every `checkpointMs` of
 * charging, and when it ends. A host killed mid-session (SIGKILL, power loss) leaves the journal
 * behind; the next start turns each entry into a record marked `interrupted` and clears it.
 */
import { existsSync, fsyncSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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

export const journalPathFor = (recordsPath: string): string => `${recordsPath}.journal`;

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

  /** Entries left by a process that did not end its sessions; the journal is cleared. */
  recover(): JournalEntry[] {
    const left = readJournal(this.path);
    if (left.length > 0 || existsSync(this.path)) this.guard(() => rmSync(this.path, { force: true }));
    return left;
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
