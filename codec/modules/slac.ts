/** Slac module, module 0x28 (manual chapter 16). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('Slac', 0x28);
void command;
void status;

export const Slac = {} as const;
