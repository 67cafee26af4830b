/** TLS material for wss:// tests, made by the openssl CLI in a temporary folder (nothing leaves the machine). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from './app-helpers.js';

export interface TlsFiles {
  dir: string;
  /** The CA's certificate file (what the client is given). */
  caFile: string;
  /** The server's key and certificate (signed by the CA; SAN IP:127.0.0.1), PEM text. */
  key: string;
  cert: string;
}

/** A CA and a server certificate for 127.0.0.1 signed by it (EC P-256, valid 2 days). */
export function makeServerTls(name = 'csms'): TlsFiles {
  const dir = tmp();
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  ssl(
    'req',
    '-new',
    '-x509',
    '-key',
    'ca.key',
    '-subj',
    `/CN=freev2g test CA ${name}`,
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-out',
    'ca.crt',
  );
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key');
  ssl('req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-out', 'server.csr');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-copy_extensions', 'copy', '-out', 'server.crt');
  return { dir, caFile: join(dir, 'ca.crt'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8') };
}
