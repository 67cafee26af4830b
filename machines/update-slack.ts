/**
 * Update timer protection (issue 12 target 5). The EVSE module ends the session with error 23
 * when Update DC/AC Charging Parameters does not come for its deadline (500 ms, manual 18.10.4
 * note; firmware/profiles.ts `dcUpdatePeriodMs`). The host sends every `updateIntervalMs` (200 ms),
 * well ahead of it, and times each update from the previous one on the session clock: the slack
 * is what was left of the deadline. A starved host (event loop stalled: GC, swap, a busy core)
 * shows as shrinking slack long before a missed deadline; the log says so in one line, at most
 * once per WARN_EVERY_MS, with the count of late updates since the last line. The remedy is
 * the process's priority (docs/service.md "Priority"), which no code here can raise.
 */

/** A gap above this share of the deadline is late (200 ms cadence, 500 ms deadline: > 300 ms). */
export const LATE_SHARE = 0.6;
/** At most one warning line per this long (session clock). */
export const WARN_EVERY_MS = 10_000;

export interface UpdateSlack {
  /** Session clock time of the last update sent. */
  lastAt?: number;
  /** Smallest slack seen this session (ms; negative: the deadline was missed). */
  shortestMs?: number;
  /** Late updates not yet reported, and when the last warning went out. */
  lateUnreported: number;
  warnedAt?: number;
}

export const NO_UPDATES: UpdateSlack = { lateUnreported: 0 };

/** The state after an update sent at `now`, and the warning line to log, if one is due. */
export function noteUpdate(s: UpdateSlack, now: number, deadlineMs: number): { slack: UpdateSlack; warning?: string } {
  if (s.lastAt === undefined) return { slack: { ...s, lastAt: now } };
  const gapMs = now - s.lastAt;
  const slackMs = deadlineMs - gapMs;
  const shortestMs = s.shortestMs === undefined ? slackMs : Math.min(s.shortestMs, slackMs);
  if (gapMs <= deadlineMs * LATE_SHARE) return { slack: onTime(s, now, shortestMs) };
  const late = s.lateUnreported + 1;
  if (s.warnedAt !== undefined && now - s.warnedAt < WARN_EVERY_MS) return { slack: { ...s, lastAt: now, shortestMs, lateUnreported: late } };
  const others = late > 1 ? `; ${late} late updates since the last warning` : '';
  const warning = `Warning: parameter update ${Math.round(gapMs)} ms after the previous one, ${Math.round(slackMs)} ms left of the module's ${deadlineMs} ms deadline: the host is short of CPU (raise its priority, docs/service.md)${others}`;
  return { slack: { lastAt: now, shortestMs, lateUnreported: 0, warnedAt: now }, warning };
}

/**
 * `{ ...s, lastAt, shortestMs }` written out (the same fields): the spread of a small
 * object took ~1 % of a simulated session's CPU, once per update (target 4, eighth round).
 */
function onTime(s: UpdateSlack, lastAt: number, shortestMs: number): UpdateSlack {
  const next: UpdateSlack = { lateUnreported: s.lateUnreported, lastAt, shortestMs };
  if (s.warnedAt !== undefined) next.warnedAt = s.warnedAt;
  return next;
}
