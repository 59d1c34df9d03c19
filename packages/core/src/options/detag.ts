import { defineCommand } from './command';
import { dryRun, env, project } from './common';

export const detagCommand = defineCommand('detag', {
  summary:
    "Write an environment's schema names in a project's source files back as their placeholders (`DEV_EDW.` → `{{env}}_EDW.`), in place",
  description:
    "Rewrites the .sql files of a project in place: every schema (database) name as deployed on the environment, where it qualifies a name, becomes the name db.yaml's `schemas:` writes with placeholders, as `dbee extract` writes files. For files extracted or written before the project used placeholders (d-bee's detag). Other text (a column or a string holding the same word) is left alone. Needs an engine that can tell a qualifier (Teradata).",
  options: {
    project,
    env,
    dryRun: dryRun('List the files that would change without writing them.'),
  },
});
