/** System module, module 0x10 (manual chapter 11). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('System', 0x10);
void command;
void status;

export const System = {} as const;
