import { defineCommand } from './command';
import { env, textOrJson } from './common';
import { flag, optionalPositional } from './option';

export const configCommand = defineCommand('config', {
  summary:
    "Print an environment's effective configuration with its secrets masked; --test-connection connects and runs one query; --list lists every environment",
  description:
    "Prints what a command would use for a project on an environment, after dbee.yaml, db.yaml, `${VAR}` interpolation and defaults: the engine, the connection settings (passwords, tokens, keys and a URL's password shown as `***`, with the environment variables they come from), the variables, the gates and the deploy settings. With --test-connection it also connects and runs `SELECT 1`: exit 0 when the database answers, 1 with the driver's message when not. With --list (no project needed) it lists every environment of dbee.yaml instead: its name, engine and where it points (the connection settings, secrets masked; an environment variable that is not set is named). Reads nothing else and changes nothing.",
  options: {
    project: optionalPositional(
      'dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. Optional: without it, the environment as dbee.yaml gives it (what --test-connection needs).',
    ),
    env,
    testConnection: flag(
      "Connect to the environment and run `SELECT 1`: exit 0 when it answers, 1 (the driver's message, no secret) when not.",
    ),
    list: flag(
      'List every environment of dbee.yaml: name, engine, where it points (secrets masked), the default one marked. No project needed; connects to nothing.',
    ),
    format: textOrJson(),
  },
});
