/** Plc module, module 0x2A (manual chapter 17). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('Plc', 0x2a);
void command;
void status;

export const Plc = {} as const;
