import { exec } from 'node:child_process';
import type { BlueGreenSide, Router } from '../engine/blue-green-role';

export type { Router } from '../engine/blue-green-role';

/**
 * The commands of a user's router (`hookRouter`), each run by the shell in the workspace root; a command fails the
 * step when it exits non-zero or runs longer than `timeoutMs`. `route` sees the side in `DBEE_BLUE_GREEN_SIDE`
 * (`blue` or `green`) and the database it serves in `DBEE_BLUE_GREEN_DATABASE`.
 */
export interface HookCommands {
  /** Hold the application's writes; exit 0 once none runs. */
  pause: string;
  /** Point the application at `$DBEE_BLUE_GREEN_SIDE`. */
  route: string;
  /** Let the writes go. */
  resume: string;
  /** Print `blue` or `green`: the side served now. Optional. */
  serving?: string;
  /** Bound of each command, in milliseconds. Default 10,000. */
  timeoutMs?: number;
}

/** The longest a hook command may run by default. */
const HOOK_TIMEOUT_MS = 10_000;

/**
 * A router made of the user's commands (`HookCommands`), for routers dbee does not drive itself (HAProxy, a DNS name,
 * a service mesh, Odyssey, pgcat...). `databases` names each side's database for `route`.
 */
export function hookRouter(
  commands: HookCommands,
  context: { cwd: string; env: NodeJS.ProcessEnv; databases: Record<BlueGreenSide, string> },
): Router {
  const timeout = commands.timeoutMs ?? HOOK_TIMEOUT_MS;
  const run = (what: keyof HookCommands, command: string, side?: BlueGreenSide) =>
    new Promise<string>((resolve, reject) => {
      const env = {
        ...context.env,
        ...(side ? { DBEE_BLUE_GREEN_SIDE: side, DBEE_BLUE_GREEN_DATABASE: context.databases[side] } : {}),
      };
      exec(command, { cwd: context.cwd, env, timeout, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const why = error.killed ? `ran longer than ${timeout} ms` : `exited with ${error.code ?? error.signal}`;
        const said = stderr.trim().split('\n').slice(-3).join(' / ');
        reject(new Error(`the router's ${what} command ${why}${said ? `: ${said}` : ''}`));
      });
    });
  return {
    description: 'the router commands of the configuration',
    pause: async () => void (await run('pause', commands.pause)),
    route: async (side) => void (await run('route', commands.route, side)),
    resume: async () => void (await run('resume', commands.resume)),
    serving: async () => {
      if (!commands.serving) return null;
      const said = (await run('serving', commands.serving)).trim();
      return said === 'blue' || said === 'green' ? said : null;
    },
    describe: (to) => [
      `run the pause command: ${commands.pause}`,
      `run the route command with DBEE_BLUE_GREEN_SIDE=${to}: ${commands.route}`,
      `run the resume command: ${commands.resume}`,
    ],
  };
}
