/** Time module, module 0x12 (manual chapter 12). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('Time', 0x12);
void command;
void status;

export const Time = {} as const;
