/**
 * OCPP 1.6 smart charging, pure: the charging profiles a connector holds and the limit they
 * compose to at a time (OCPP 1.6 section 3.13: per purpose the valid profile with the highest
 * stack level wins; a TxProfile overrides the TxDefaultProfile during its transaction; the
 * ChargePointMaxProfile caps both), and the composite schedule over a window
 * (GetCompositeSchedule). Times are ms since the epoch on the station's clock.
 */

export type ChargingRateUnit = 'A' | 'W';
export type ProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';

export interface ChargingSchedulePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

export interface ChargingSchedule {
  duration?: number;
  startSchedule?: string;
  chargingRateUnit: ChargingRateUnit;
  chargingSchedulePeriod: ChargingSchedulePeriod[];
  minChargingRate?: number;
}

export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: ProfilePurpose;
  chargingProfileKind: 'Absolute' | 'Recurring' | 'Relative';
  recurrencyKind?: 'Daily' | 'Weekly';
  validFrom?: string;
  validTo?: string;
  chargingSchedule: ChargingSchedule;
}

export interface Limit {
  unit: ChargingRateUnit;
  limit: number;
}

/** What the composition needs to know about the connector's transaction, if one runs. */
export interface TransactionContext {
  transactionId?: number;
  startedAt?: number;
}

const DAY_MS = 86_400_000;

/** Start of the schedule in force at `t` (undefined: the profile does not apply at `t`). */
function scheduleStart(p: ChargingProfile, t: number, tx: TransactionContext): number | undefined {
  const s = p.chargingSchedule;
  switch (p.chargingProfileKind) {
    case 'Absolute':
      return s.startSchedule !== undefined ? Date.parse(s.startSchedule) : tx.startedAt;
    case 'Relative':
      return tx.startedAt;
    case 'Recurring': {
      if (s.startSchedule === undefined) return undefined;
      const period = p.recurrencyKind === 'Weekly' ? 7 * DAY_MS : DAY_MS;
      const first = Date.parse(s.startSchedule);
      return t < first ? undefined : first + Math.floor((t - first) / period) * period;
    }
  }
}

/** The limit of one profile at `t`, or undefined when it does not apply then. */
export function profileLimitAt(p: ChargingProfile, t: number, tx: TransactionContext): Limit | undefined {
  if (p.validFrom !== undefined && t < Date.parse(p.validFrom)) return undefined;
  if (p.validTo !== undefined && t >= Date.parse(p.validTo)) return undefined;
  if (p.chargingProfilePurpose === 'TxProfile' && (tx.startedAt === undefined || (p.transactionId !== undefined && p.transactionId !== tx.transactionId))) return undefined;
  const start = scheduleStart(p, t, tx);
  if (start === undefined || t < start) return undefined;
  const s = p.chargingSchedule;
  const offsetS = (t - start) / 1000;
  if (s.duration !== undefined && offsetS >= s.duration) return undefined;
  let current: ChargingSchedulePeriod | undefined;
  for (const period of s.chargingSchedulePeriod) if (period.startPeriod <= offsetS) current = period;
  return current ? { unit: s.chargingRateUnit, limit: current.limit } : undefined;
}

/** Of one purpose, the applicable profile with the highest stack level decides. */
function purposeLimit(profiles: readonly ChargingProfile[], purpose: ProfilePurpose, t: number, tx: TransactionContext): Limit | undefined {
  let best: { level: number; limit: Limit } | undefined;
  for (const p of profiles) {
    if (p.chargingProfilePurpose !== purpose) continue;
    const limit = profileLimitAt(p, t, tx);
    if (limit && (!best || p.stackLevel > best.level)) best = { level: p.stackLevel, limit };
  }
  return best?.limit;
}

/**
 * The connector's limits at `t`: TxProfile over TxDefaultProfile, both capped by the charge
 * point's maximum. Current and power limits are kept apart (a profile in A does not cap W).
 */
export function compositeLimitAt(connector: readonly ChargingProfile[], chargePoint: readonly ChargingProfile[], t: number, tx: TransactionContext): { maxCurrentA?: number; maxPowerW?: number } {
  const tx1 = purposeLimit(connector, 'TxProfile', t, tx) ?? purposeLimit(connector, 'TxDefaultProfile', t, tx);
  const max = purposeLimit(chargePoint, 'ChargePointMaxProfile', t, tx);
  const out: { maxCurrentA?: number; maxPowerW?: number } = {};
  for (const l of [tx1, max]) {
    if (!l) continue;
    const key = l.unit === 'A' ? 'maxCurrentA' : 'maxPowerW';
    out[key] = Math.min(out[key] ?? Number.POSITIVE_INFINITY, l.limit);
  }
  return out;
}

/** Every time in [from, to) where some profile's limit may change (period starts, validity, ends). */
function boundaries(profiles: readonly ChargingProfile[], from: number, to: number, tx: TransactionContext): number[] {
  const out = new Set<number>([from]);
  for (const p of profiles) {
    for (const v of [p.validFrom, p.validTo]) if (v !== undefined) out.add(Date.parse(v));
    const start = scheduleStart(p, from, tx);
    if (start === undefined) continue;
    const starts = p.chargingProfileKind === 'Recurring' ? [start, start + (p.recurrencyKind === 'Weekly' ? 7 : 1) * DAY_MS] : [start];
    for (const s of starts) {
      for (const period of p.chargingSchedule.chargingSchedulePeriod) out.add(s + period.startPeriod * 1000);
      if (p.chargingSchedule.duration !== undefined) out.add(s + p.chargingSchedule.duration * 1000);
    }
  }
  return [...out].filter((t) => t >= from && t < to && Number.isFinite(t)).sort((a, b) => a - b);
}

/** The next time after `t` when the composite limit may change (for re-evaluation timers). */
export function nextChange(profiles: readonly ChargingProfile[], t: number, tx: TransactionContext): number | undefined {
  return boundaries(profiles, t + 1, t + 8 * DAY_MS, tx)[0];
}

/** GetCompositeSchedule: the composite limit over [from, from + durationS) as periods in `unit`. */
export function compositeSchedule(
  connector: readonly ChargingProfile[],
  chargePoint: readonly ChargingProfile[],
  from: number,
  durationS: number,
  unit: ChargingRateUnit,
  tx: TransactionContext,
  nominalVoltageV: number,
): ChargingSchedule | undefined {
  const all = [...connector, ...chargePoint];
  if (all.length === 0) return undefined;
  const periods: ChargingSchedulePeriod[] = [];
  for (const t of boundaries(all, from, from + durationS * 1000, tx)) {
    const l = compositeLimitAt(connector, chargePoint, t, tx);
    const asUnit =
      unit === 'A' ? [l.maxCurrentA, l.maxPowerW !== undefined ? l.maxPowerW / nominalVoltageV : undefined] : [l.maxPowerW, l.maxCurrentA !== undefined ? l.maxCurrentA * nominalVoltageV : undefined];
    const defined = asUnit.filter((v): v is number => v !== undefined);
    if (defined.length === 0) continue;
    const limit = Math.round(Math.min(...defined) * 10) / 10;
    if (periods.at(-1)?.limit === limit) continue;
    periods.push({ startPeriod: Math.round((t - from) / 1000), limit });
  }
  if (periods.length === 0) return undefined;
  return { duration: durationS, startSchedule: new Date(from).toISOString(), chargingRateUnit: unit, chargingSchedulePeriod: periods };
}
