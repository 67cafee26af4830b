/** V2g module, module 0x27 (manual chapter 18). */
import { moduleDefs } from '../../message.js';

const { command, status } = moduleDefs('V2g', 0x27);
void command;
void status;

export const V2gEv = {} as const;
