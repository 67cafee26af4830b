#!/usr/bin/env node
// Entry point of the `freev2g` command. The sources are TypeScript run through tsx's loader,
// so a fresh clone needs no build step: `npm ci && npm start` is the whole installation.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../app/cli.ts');
process.exitCode = await main(process.argv.slice(2));
