/** Time module, module 0x12 (manual chapter 12): the module's software RTC. */
import { MODULE_RESULT_CODES, moduleDefs } from '../message.js';
import { enumU8, u16, u8Range } from '../schema.js';

const { command } = moduleDefs('Time', 0x12);

/** 12.2: Get Time before any time was set (or synchronised). */
export const TimeResultCode = { noValidTime: 0x10 } as const;
MODULE_RESULT_CODES.Time = { [TimeResultCode.noValidTime]: 'noValidTime' };

/** 12.3.1 / 12.3.2: which clock the date and time refer to. */
export const TIME_TYPES = ['utc', 'local'] as const;
export const TimeType = { utc: 0, local: 1 } as const;

/**
 * 12.3.1: calendar date and time of day. The manual gives plain uint8 fields; the ranges are the
 * calendar's (seconds up to 60 for a leap second), so a swapped field is caught before sending.
 */
const dateTime = {
  year: u16,
  month: u8Range(1, 12),
  day: u8Range(1, 31),
  hour: u8Range(0, 23),
  minute: u8Range(0, 59),
  seconds: u8Range(0, 60),
};

/** The date-time fields (12.3.1) of an instant, in UTC. */
export function utcDateTime(epochMs: number): { year: number; month: number; day: number; hour: number; minute: number; seconds: number } {
  const d = new Date(epochMs);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), seconds: d.getUTCSeconds() };
}

export const Time = {
  SetTime: command({ name: 'SetTime', subId: 0x40, section: '12.3.1', request: { type: enumU8(TIME_TYPES), ...dateTime } }),
  GetTime: command({ name: 'GetTime', subId: 0x41, section: '12.3.2', request: { type: enumU8(TIME_TYPES) }, response: dateTime }),
} as const;
