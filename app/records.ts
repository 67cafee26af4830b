/**
 * Session records: one JSON line per finished session, appended to a JSON Lines file. Each
 * record is a single append-mode write followed by fsync, so a crash can at worst leave the
 * line being written incomplete; earlier lines are never touched. A torn last line from an
 * earlier crash is closed off with a newline before the next record, and skipped on reading.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, fstatSync, writeSync } from 'node:fs';
import { toJsonLine } from './output/json.js';

export const DEFAULT_RECORDS_FILE = 'records.jsonl';

/** True when the file exists, is not empty and its last byte is not a newline. */
function endsTorn(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** Appends one record as a JSON line and waits until it is on disk. */
export function appendRecord(path: string, record: object): void {
  const fd = openSync(path, 'a+');
  try {
    const line = `${endsTorn(fd) ? '\n' : ''}${toJsonLine(record)}\n`;
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every complete record of a file (unparseable lines, e.g. one torn by a crash, are skipped). */
export function readRecords(path: string): unknown[] {
  if (!existsSync(path)) return [];
  const out: unknown[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a torn line: skip it
    }
  }
  return out;
}
