/**
 * The `certificate_provider` key of an EVSE station file (docs/pnc.md): where Plug & Charge
 * certificate installation/update responses come from. Relative paths are relative to the
 * configuration file's directory.
 *
 *   "certificate_provider": { "directory": "responses" }
 *   "certificate_provider": { "command": ["node", "sign-response.js"] }
 */
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import type { CertificateProvider } from '../../machines/certificate-provider.js';
import { commandProvider } from './command-provider.js';
import { directoryProvider } from './directory-provider.js';

export const certificateProviderSchema = z.union([z.strictObject({ directory: z.string().min(1) }), z.strictObject({ command: z.array(z.string().min(1)).min(1) })]);

export type CertificateProviderSetting = z.output<typeof certificateProviderSchema>;

/** The provider a setting names; `source` is the configuration file it came from. */
export function certificateProviderFrom(setting: CertificateProviderSetting | undefined, source: string): CertificateProvider | undefined {
  if (!setting) return undefined;
  const base = dirname(resolve(source));
  if ('directory' in setting) return directoryProvider(resolve(base, setting.directory));
  return commandProvider({ argv: setting.command, cwd: base });
}
