#!/usr/bin/env node
// Run a TypeScript file of this workspace on Node 20 (no native type stripping): tools/dev-register.js registers
// @swc-node/register and maps @dbee/* imports to the packages' sources (no build needed), then loads the file.
// Usage: node tools/run.js <file.ts> [args...]
const path = require('node:path');
require('./dev-register');
const file = process.argv[2];
if (!file) {
  console.error('usage: node tools/run.js <file.ts> [args...]');
  process.exit(1);
}
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
