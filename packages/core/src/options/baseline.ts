import { defineCommand } from './command';
import { dryRun, project } from './common';
import { text } from './option';

export const baselineCommand = defineCommand('baseline', {
  summary:
    "Record the project's migrations as the starting state of new environments (migrations/baseline.yaml), which then build from the sources and the later migrations",
  description:
    'Writes migrations/baseline.yaml: the migrations up to a version, which a new environment (nothing of the project in its ledger) records as applied without running them, because the sources already describe the schema they led to. Environments that have deployed the project are not affected. For a data migration that no longer runs on the current schema (a column a zero-downtime release dropped), and to let old migration files go. Review and commit the file; run it again to move the baseline forward.',
  options: {
    project,
    env: text(
      "The environment whose variables the migrations' checksums use (as `deploy` computes them). Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. No database is read.",
      { short: 'e', value: '<name>' },
    ),
    through: text(
      'The last migration the baseline folds in, e.g. `V12` or `12`. Default: the newest migration of the project.',
      { value: '<version>' },
    ),
    dryRun: dryRun('Print the file instead of writing it.'),
  },
});
