/** GPIO module, module 0x0F (manual chapter 19). */
import { moduleDefs } from '../message.js';
import { enumU8, u8 } from '../schema.js';

const { command } = moduleDefs('Gpio', 0x0f);

/** 19.2.1 / 19.2.2. */
export const GPIO_MODES = ['output', 'input'] as const;
export const GpioMode = { output: 0, input: 1 } as const;
/** 19.2.3 / 19.2.4. */
export const GPIO_STATES = ['off', 'on'] as const;

const gpio = u8;
const mode = enumU8(GPIO_MODES);
const state = enumU8(GPIO_STATES);

export const Gpio = {
  SetMode: command({ name: 'SetMode', subId: 0x40, section: '19.2.1', request: { gpio, mode } }),
  GetMode: command({ name: 'GetMode', subId: 0x41, section: '19.2.2', request: { gpio }, response: { mode } }),
  SetState: command({ name: 'SetState', subId: 0x42, section: '19.2.3', request: { gpio, state } }),
  GetState: command({ name: 'GetState', subId: 0x43, section: '19.2.4', request: { gpio }, response: { state } }),
} as const;
