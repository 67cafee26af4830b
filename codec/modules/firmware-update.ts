/** FirmwareUpdate module, module 0x11 (manual chapter 14). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('FirmwareUpdate', 0x11);
void command;
void status;

export const FirmwareUpdate = {} as const;
