import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DbeeError, ExitCode } from '@dbee/core';
import type { TeradataDriver, TeradataDriverName } from './driver';
import { nodejsDriver, type NodejsDriverModule } from './nodejs-driver';
import { teradatasqlDriver, type TeradatasqlModule } from './teradatasql-driver';

/** Drivers dbee can load, and what to tell a user who has not installed one. */
export const DRIVER_INSTALL: Readonly<Record<TeradataDriverName, { command: string; note: string }>> = {
  teradatasql: {
    command: 'npm install -D teradatasql',
    note: "teradatasql is Teradata's current Node.js driver (an optional peer dependency of @dbee/teradata)",
  },
  'teradata-nodejs-driver': {
    command: 'CXXFLAGS=-fpermissive npm install -D teradata-nodejs-driver',
    note: 'teradata-nodejs-driver is deprecated by Teradata (no timeouts, blocking calls, no-op commit/rollback); prefer driver: teradatasql',
  },
};

export function isDriverName(value: string): value is TeradataDriverName {
  return value === 'teradatasql' || value === 'teradata-nodejs-driver';
}

/** Where to look for a driver package: beside @dbee/teradata first, then the workspace root. */
function requirers(workspaceRoot: string | undefined): NodeJS.Require[] {
  const own: NodeJS.Require = typeof require === 'function' ? require : createRequire(__filename);
  return workspaceRoot ? [own, createRequire(join(workspaceRoot, 'package.json'))] : [own];
}

function isNotFound(error: unknown, id: string): boolean {
  const e = error as NodeJS.ErrnoException;
  return e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${id}'`);
}

/**
 * Load a driver package lazily, with `require` inside this function, so that importing @dbee/teradata never needs a
 * driver. Throws `DRIVER_MISSING` naming the install command when the package is not installed, and
 * `DRIVER_LOAD_FAILED` when it is installed but cannot load (native library, platform).
 */
export function loadDriver(name: TeradataDriverName, options: { workspaceRoot?: string } = {}): TeradataDriver {
  for (const req of requirers(options.workspaceRoot)) {
    let mod: unknown;
    try {
      mod = req(name);
    } catch (error) {
      if (isNotFound(error, name)) continue;
      throw new DbeeError(
        `the Teradata driver "${name}" is installed but failed to load: ${(error as Error).message?.split('\n')[0]}`,
        {
          code: 'DRIVER_LOAD_FAILED',
          hint: `${DRIVER_INSTALL[name].note}; reinstall it with \`${DRIVER_INSTALL[name].command}\` on this platform (64-bit Node, glibc)`,
          exitCode: ExitCode.invalid,
          details: { driver: name },
          cause: error,
        },
      );
    }
    const version = readVersion(req, name);
    return name === 'teradatasql'
      ? teradatasqlDriver(mod as TeradatasqlModule, version)
      : nodejsDriver(mod as NodejsDriverModule, version);
  }
  throw new DbeeError(`the Teradata driver "${name}" is not installed`, {
    code: 'DRIVER_MISSING',
    hint: `run \`${DRIVER_INSTALL[name].command}\` in the workspace root; ${DRIVER_INSTALL[name].note}`,
    exitCode: ExitCode.invalid,
    details: { driver: name, install: DRIVER_INSTALL[name].command },
  });
}

function readVersion(req: NodeJS.Require, name: string): string {
  try {
    return String((req(`${name}/package.json`) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}
