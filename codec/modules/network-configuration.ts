/** NetworkConfiguration module, module 0x05 (manual chapter 13). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('NetworkConfiguration', 0x05);
void command;
void status;

export const NetworkConfiguration = {} as const;
