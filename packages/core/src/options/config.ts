import { defineCommand } from './command';
import { env, project, textOrJson } from './common';
import { flag } from './option';

export const configCommand = defineCommand('config', {
  summary:
    "Print an environment's effective configuration with its secrets masked; --test-connection connects and runs one query",
  description:
    "Prints what a command would use for a project on an environment, after dbee.yaml, db.yaml, `${VAR}` interpolation and defaults: the engine, the connection settings (passwords, tokens, keys and a URL's password shown as `***`, with the environment variables they come from), the variables, the gates and the deploy settings. With --test-connection it also connects and runs `SELECT 1`: exit 0 when the database answers, 1 with the driver's message when not. Reads nothing else and changes nothing.",
  options: {
    project,
    env,
    testConnection: flag(
      "Connect to the environment and run `SELECT 1`: exit 0 when it answers, 1 (the driver's message, no secret) when not.",
    ),
    format: textOrJson(),
  },
});
