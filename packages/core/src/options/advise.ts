import { defineCommand } from './command';
import { appQueries, env, project, textOrJson } from './common';
import { count, flag, seconds, texts } from './option';

export const adviseCommand = defineCommand('advise', {
  summary: 'Advise indexes and statistics for the workload and the release, proven by the planner',
  description:
    "Reads the application's queries (as `dbee check` does) and the plan the project would deploy, and reports missing indexes (each proven with hypothetical indexes by the planner's cost before and after), redundant and unused indexes, what the release changes for the queries' plans, foreign keys without an index, stale statistics and column pairs that need extended statistics. Applies nothing; `--write` writes the advice as source files. Exit 1 when the advice cannot be proven (no HypoPG on the target).",
  options: {
    project,
    env,
    queries: appQueries(),
    minCost: count("A query whose generic plan costs less than this is left alone. Default 100 (Dexter's).", 0),
    minSavings: count(
      "Percentage by which an index must cut a query's planned cost to be advised. Default 50 (Dexter's).",
      1,
    ),
    minCalls: count(
      "Queries called fewer times are left alone (sources that count calls: the engine's statement statistics). Default 0.",
      0,
    ),
    includeTables: texts(
      "Only these tables get advice: `schema.table` or `table`, `*` for any characters; repeat it or separate with commas (Dexter's --include). The workload's queries are all planned still.",
      { value: '<tables>' },
    ),
    skipTables: texts(
      'These tables get no advice (same form as --include-tables); an exclusion wins over an inclusion. (`nx run` keeps `--exclude` and any flag starting with it for itself).',
      {
        value: '<tables>',
      },
    ),
    write: flag(
      'Write each proven index as a source file (schema/<schema>/indexes/<name>.sql) and each extended statistics object as a migration, with the queries and cost gain in a comment; nothing is applied.',
    ),
    format: textOrJson(),
    waitForLock: seconds(
      "Seconds to wait for another deployment's lock before failing. Default: the environment's `deploy.waitForLock`, else 60.",
    ),
  },
});
