import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local webhook that keeps every JSON body it receives (answers 204): start it with `listen`, stop with `close`. */
export function webhookSink<T = Record<string, unknown>>() {
  const received: T[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      received.push(JSON.parse(text) as T);
      res.writeHead(204).end();
    });
  });
  return {
    received,
    listen: () => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
  };
}
