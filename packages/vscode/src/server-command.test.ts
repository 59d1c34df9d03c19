import { describe, expect, it } from 'vitest';
import { serverCommand } from './server-command';

describe('the VS Code extension starts the workspace own dbee lsp', () => {
  it("prefers the setting, then the workspace's node_modules/.bin/dbee, then dbee on the PATH", () => {
    expect(serverCommand('/ws', ['npx', 'dbee'], () => true)).toEqual({
      command: 'npx',
      args: ['dbee', 'lsp', '--cwd', '/ws'],
    });
    expect(serverCommand('/ws', [], (p) => p === '/ws/node_modules/.bin/dbee', 'linux')).toEqual({
      command: '/ws/node_modules/.bin/dbee',
      args: ['lsp', '--cwd', '/ws'],
    });
    expect(serverCommand('/ws', [], () => false, 'linux')).toEqual({ command: 'dbee', args: ['lsp', '--cwd', '/ws'] });
  });
});
