/** Control Pilot service, module 0x29 (manual chapter 15). */
import { moduleDefs } from '../message.js';
import { enumU8, u16Range, u32 } from '../schema.js';

const { command, status } = moduleDefs('ControlPilot', 0x29);

/** 15.4.1: 0 EV, 1 EVSE (255 "not yet set" only appears in Get Mode of an unconfigured module). */
export const CpMode = { EV: 0, EVSE: 1 } as const;
/** 15.4.9 / 15.5.2: the IEC 61851 state measured on the CP line. */
export const CP_STATES = ['A', 'B', 'C', 'D', 'E', 'F', 'unknown'] as const;
export type CpStateName = (typeof CP_STATES)[number];
/** 15.4.7: resistor levels an EV can switch in. */
export const ResistorLevel = { B: 0, C: 1, D: 2 } as const;

/** Duty cycle in permill (0-1000): 1000 = 100 % = state X1, 50 = 5 % (ISO 15118 HLC). */
const dutyCyclePermill = u16Range(0, 1000);
const cpState = enumU8(CP_STATES);
const cpMode = enumU8(['EV', 'EVSE']);

export const ControlPilot = {
  SetMode: command({ name: 'SetMode', subId: 0x40, section: '15.4.1', request: { mode: cpMode } }),
  GetMode: command({ name: 'GetMode', subId: 0x41, section: '15.4.2', response: { mode: cpMode } }),
  Start: command({ name: 'Start', subId: 0x42, section: '15.4.3' }),
  Stop: command({ name: 'Stop', subId: 0x43, section: '15.4.4' }),
  SetDutyCycle: command({ name: 'SetDutyCycle', subId: 0x44, section: '15.4.5', role: 'EVSE', request: { dutyCyclePermill } }),
  GetDutyCycle: command({ name: 'GetDutyCycle', subId: 0x45, section: '15.4.6', response: { dutyCyclePermill } }),
  SetResistorLevel: command({ name: 'SetResistorLevel', subId: 0x46, section: '15.4.7', role: 'EV', request: { level: enumU8(['B', 'C', 'D']) } }),
  GetResistorLevel: command({ name: 'GetResistorLevel', subId: 0x47, section: '15.4.8', role: 'EV', response: { level: enumU8(['B', 'C', 'D']) } }),
  GetState: command({ name: 'GetState', subId: 0x48, section: '15.4.9', response: { state: cpState } }),
  SetDutyCycleNotificationThreshold: command({
    name: 'SetDutyCycleNotificationThreshold',
    subId: 0x49,
    section: '15.4.10',
    role: 'EV',
    request: { thresholdPermill: dutyCyclePermill },
  }),
  GetDutyCycleNotificationThreshold: command({
    name: 'GetDutyCycleNotificationThreshold',
    subId: 0x4a,
    section: '15.4.11',
    role: 'EV',
    response: { thresholdPermill: dutyCyclePermill },
  }),
  GetCpAdValue: command({ name: 'GetCpAdValue', subId: 0x4b, section: '15.4.12', role: 'EVSE', response: { adValue: u32 } }),
  DutyCycleChanged: status({ name: 'DutyCycleChanged', subId: 0x80, section: '15.5.1', payload: { dutyCyclePermill } }),
  StateChanged: status({ name: 'StateChanged', subId: 0x81, section: '15.5.2', payload: { state: cpState } }),
} as const;
