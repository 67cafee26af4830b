/** `npm run dissector`: (re)writes wireshark/whitebeet.lua from the codec's catalog. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DISSECTOR_PATH, generateDissector } from '../app/dissector.js';

writeFileSync(DISSECTOR_PATH, generateDissector());
process.stdout.write(`wrote ${fileURLToPath(DISSECTOR_PATH)}\n`);
