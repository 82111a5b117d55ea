#!/usr/bin/env node
// The published `lrp-tape` executable (dist/cli/bin.js); cli/run-source.js runs the same from source.
// The version check comes before anything else loads, so an old Node gets one clear line.
import { unsupportedNode } from '../node/runtime.js';

const tooOld = unsupportedNode(process.versions.node);
if (tooOld) {
  console.error(tooOld);
  process.exit(1);
}
const { run } = await import('./main.js');
process.exitCode = await run(process.argv);
