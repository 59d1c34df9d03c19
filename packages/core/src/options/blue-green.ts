import { defineCommand } from './command';
import { flag } from './option';
import { assumeYes, dryRun, env, project, ticket } from './common';

export const switchCommand = defineCommand('switch', {
  summary: 'Blue/green: move the application from blue to green, its writes paused for a moment',
  description:
    "Switchover of a release deployed with `--strategy blue-green` (docs/blue-green.md), run on blue's environment: refused while green lags beyond `blueGreen.maxLag`, its subscription has failed, the router was moved by hand or green holds a change replication cannot carry; waits, writes flowing, for transactions open on blue to end (`blueGreen.transactionWait`) and for green's lag to drain within `blueGreen.pauseBudget` at the rate it applies (`blueGreen.catchUpWait`), refused before pausing when they do not; then the router pauses the writes, green catches up, its sequences are set past blue's, replication back to blue starts, the router points at green and the writes resume. Undone on blue when a step fails or the pause outlasts `blueGreen.pauseTimeout`. A switchover whose process died is settled by the next run.",
  options: {
    project,
    env,
    assumeYes,
    ticket,
    dryRun: dryRun(
      "Check the gates and every refusal (the state, the lag, the subscription, the router, green's tables) and print the switchover's steps, without changing anything.",
    ),
  },
});

export const fallbackCommand = defineCommand('fallback', {
  summary: 'Blue/green: move the application back from green to blue, with the rows written on green',
  description:
    "The way back after `dbee switch` (docs/blue-green.md), run on blue's environment: the same switchover the other way, refused and undone as it is; blue has every row written on green since the switch (replication ran back to it), and green is kept in sync from blue again, so the release can be fixed, deployed to green again and switched to.",
  options: {
    project,
    env,
    assumeYes,
    ticket,
    dryRun: dryRun(
      'Check the gates and every refusal and print the switchover back to blue, without changing anything.',
    ),
  },
});

export const finishCommand = defineCommand('finish', {
  summary: 'Blue/green: drop replication and the side that no longer serves',
  description:
    "Ends a blue/green deployment (docs/blue-green.md), named by blue's environment: refused while the side not serving holds rows the side that stays never got (written to it directly after the switch: its sequences moved, the way back failed, more rows than the side serving; `--force` drops them), then drops the subscriptions, slots and publications of both sides, then the database of the side not serving (blue after a switch, green after a fallback or when green is given up), its blue/green record copied to the side that stays. Runs under the gates and lock of the side that stays; blue's change ticket is asked for too.",
  options: {
    project,
    env,
    assumeYes,
    ticket,
    dryRun: dryRun('Check the gates and the state and print what would be dropped, without changing anything.'),
    force: flag(
      'Drop the side that no longer serves even when it holds rows the side that stays never got (a client that wrote to it directly after the switch): they are lost.',
    ),
  },
});
