#!/usr/bin/env node
// The `lrp-tape` executable: runs the TypeScript sources directly through tsx, so no build step is
// needed after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv);
