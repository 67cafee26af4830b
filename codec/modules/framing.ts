/** Framing module, module 0x0E (manual chapter 10). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('Framing', 0x0e);
void command;
void status;

export const Framing = {} as const;
