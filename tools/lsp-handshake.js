#!/usr/bin/env node
'use strict';
/**
 * A minimal editor for `npm run test:installed`: starts an installed `dbee lsp` (`node tools/lsp-handshake.js <dbee>
 * <workspace> <file> <text>`), opens `file` (workspace-relative) with `text`, waits for the diagnostics the server
 * publishes for it, shuts the server down as an editor does, and prints `{ "diagnostics": [...], "exit": code }`.
 * Plain Node (the Language Server Protocol's framing by hand): the installed workspace has no client library.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const [dbee, root, file, text] = process.argv.slice(2);
const uri = pathToFileURL(join(root, file)).href;
const child = spawn(dbee, ['lsp'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
const send = (message) => {
  const body = JSON.stringify({ jsonrpc: '2.0', ...message });
  child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
};
let buffer = Buffer.alloc(0);
let diagnostics = null;
const guard = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: 'no diagnostics within 5 minutes' }));
  child.kill();
  process.exit(1);
}, 300_000);
child.stdout.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const head = buffer.indexOf('\r\n\r\n');
    if (head < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.slice(0, head).toString())[1]);
    if (buffer.length < head + 4 + length) return;
    const message = JSON.parse(buffer.slice(head + 4, head + 4 + length).toString());
    buffer = buffer.slice(head + 4 + length);
    if (message.id === 1) {
      send({ method: 'initialized', params: {} });
      send({ method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'sql', version: 1, text } } });
    } else if (message.method === 'textDocument/publishDiagnostics' && message.params.uri === uri && !diagnostics) {
      diagnostics = message.params.diagnostics;
      send({ id: 2, method: 'shutdown' });
    } else if (message.id === 2) {
      send({ method: 'exit' });
    } else if (message.method === 'client/registerCapability' || message.method === 'workspace/configuration') {
      send({ id: message.id, result: null });
    }
  }
});
child.on('exit', (code) => {
  clearTimeout(guard);
  process.stdout.write(JSON.stringify({ diagnostics, exit: code }));
});
send({
  id: 1,
  method: 'initialize',
  params: { processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {} },
});
