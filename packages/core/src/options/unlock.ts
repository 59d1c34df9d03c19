import { defineCommand } from './command';
import { flag } from './option';
import { assumeYes, env, project } from './common';

export const unlockCommand = defineCommand('unlock', {
  summary: "Clear an environment's deployment lock whose holder died (named first, cleared after a confirmation)",
  description:
    "Names the holder of an environment's deployment lock and, after a confirmation, clears it: for a holder that died holding it, e.g. a BTEQ script killed during a change window, whose lock row would only expire hours later. Where the lock ends with its holder's session (PostgreSQL's advisory lock), says so and names the session instead.",
  options: {
    project,
    env,
    assumeYes,
    force: flag(
      'Clear the lock even though its holder still looks alive (a Teradata BTEQ session that is still logged on): only when you know that session no longer deploys.',
    ),
  },
});
