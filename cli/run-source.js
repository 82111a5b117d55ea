#!/usr/bin/env node
// Runs the CLI from the TypeScript sources through tsx (a devDependency), for work inside the
// repository without a build. The published executable is dist/cli/bin.js, built from cli/bin.ts.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv);
