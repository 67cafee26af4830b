/** CertificateManager module, module 0x30 (manual chapter 20). */
import { moduleDefs } from '../message.js';

const { command, status } = moduleDefs('CertificateManager', 0x30);
void command;
void status;

export const CertificateManager = {} as const;
