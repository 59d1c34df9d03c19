#!/usr/bin/env node
// The dbee command. Node 20 cannot load TypeScript by itself, so register @swc-node (as Nx does) first.
const path = require('node:path');
process.env.SWC_NODE_PROJECT ??= path.join(__dirname, '..', '..', '..', 'tsconfig.base.json');
require('@swc-node/register');
require('../src/main')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
