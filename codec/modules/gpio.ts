/** Gpio module, module 0x0F (manual chapter 19). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('Gpio', 0x0f);
void command;
void status;

export const Gpio = {} as const;
