#!/usr/bin/env node
// Run a TypeScript file of this workspace on Node 20 (no native type stripping): registers @swc-node/register
// with the workspace tsconfig, then loads the file. Usage: node tools/run.js <file.ts> [args...]
const path = require('node:path');
process.env.SWC_NODE_PROJECT ??= path.join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
const file = process.argv[2];
if (!file) {
  console.error('usage: node tools/run.js <file.ts> [args...]');
  process.exit(1);
}
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
