import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The process the extension starts: `dbee lsp` of the workspace. */
export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * Which `dbee` runs the language server for the workspace at `root`: the `dbee.command` setting when it is set
 * (`["npx", "dbee"]`), else the workspace's own `node_modules/.bin/dbee` (the version its sources are deployed with),
 * else `dbee` on the PATH. The extension bundles no dbee of its own: the server and the sources always agree.
 */
export function serverCommand(
  root: string,
  configured: readonly string[],
  exists: (path: string) => boolean = existsSync,
  platform: NodeJS.Platform = process.platform,
): ServerCommand {
  const args = ['lsp', '--cwd', root];
  if (configured.length) return { command: configured[0]!, args: [...configured.slice(1), ...args] };
  const local = join(root, 'node_modules', '.bin', platform === 'win32' ? 'dbee.cmd' : 'dbee');
  return { command: exists(local) ? local : 'dbee', args };
}
