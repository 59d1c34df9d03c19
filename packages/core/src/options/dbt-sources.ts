import { defineCommand } from './command';
import { project } from './common';
import { text } from './option';

export const dbtSourcesCommand = defineCommand('dbt-sources', {
  summary: "Write dbt sources YAML (and staging models) from a project's schema; again, to update it",
  description:
    "Builds the project's desired schema (a shadow database, no target) and writes a dbt `sources:` YAML: one source per schema (database, schema, one table per table and view, its columns with `data_type` and the objects' comments as descriptions). Run again over the same file, it adds what is new, follows changed types, drops what is gone unless a person added to it, and keeps every description, test and `meta` a person wrote (see docs/dbt.md).",
  options: {
    project,
    env: text(
      "The environment whose variables expand the sources' `{{placeholders}}` (no database of it is read). Default: DBEE_ENV, else dbee.yaml's `defaultEnvironment`.",
      { short: 'e', value: '<name>' },
    ),
    out: text(
      'The sources YAML to write or update, relative to the workspace root (any path you type is honoured), e.g. `analytics/models/sources/sales.yml`.',
      { short: 'o', value: '<file>' },
    ),
    staging: text(
      'Also write a staging model per table and view (`stg_<source>__<table>.sql`, a `select` of every column) into this folder; a model that exists is left as it is.',
      { value: '<folder>' },
    ),
    sourceName: text(
      "The dbt source's name. Default: the project's name (with `_<schema>` appended when the project owns several schemas).",
      { value: '<name>' },
    ),
    database: text("The sources' `database:` (the database dbt connects to). Default: none written.", {
      value: '<name>',
    }),
  },
});
