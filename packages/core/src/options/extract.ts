import { defineCommand } from './command';
import { assumeYes, dryRun, env, project, textOrJson, ticket } from './common';
import { clock, flag, text } from './option';

export const extractCommand = defineCommand('extract', {
  summary:
    "Write the live objects of a project's schemas as source files (schema/<schema>/<kind>/<name>.sql), creating db.yaml when there is none",
  description:
    "Writes the live objects of a dbee project's schemas on an environment as source files in the project layout, one object per file with its indexes, comments, grants and triggers, deterministic text; creates db.yaml when the folder has none.",
  options: {
    project,
    env,
    schemas: text(
      'Schemas of a project that has no db.yaml yet, comma-separated, read as SQL reads names (`Sales` is sales on PostgreSQL; `"Sales"` keeps the case). Default: the project\'s `schemas:`, else the project name.',
      { value: '<a,b>' },
    ),
    out: text(
      'Folder of a project that has no db.yaml yet, relative to the workspace root (any path you type is honoured, inside the workspace or not). Default: the project name.',
      { value: '<folder>' },
    ),
    since: text(
      'Only objects changed since this time (ISO, or `24h`, `10m`, `7d` ago): needs `dbee audit --enable` on the environment.',
      { value: '<time|duration>' },
    ),
    by: text('Only objects this role changed (with the audit trail of `dbee audit --enable`).', { value: '<role>' }),
    owner: text(
      "Databases of a project that has no db.yaml yet: this database and every database it owns, directly or through others (Teradata's owner hierarchy), instead of --schemas.",
      { value: '<database>' },
    ),
    deleteDropped: flag(
      'Delete the source file of each object dbee deployed that is no longer in the database; a file that also defines an object still there is kept, and named.',
    ),
    objects: text('Only objects matching this glob over `kind:schema.name`, e.g. `table:sales.*` or `sales.order_*`.', {
      value: '<glob>',
    }),
    objectsFrom: text(
      'Only the objects listed in this file, the list format of `deploy --objects-from`: one key or glob per line (`table:sales.orders`, `sales.order_*`), `#` starts a comment (relative to the workspace root). A line that matches no live object is refused (exit 1, its file and line), before anything is written.',
      { value: '<file>' },
    ),
    dryRun: dryRun('List the files that would be written without writing them.'),
    now: clock(),
  },
});

export const adoptCommand = defineCommand('adopt', {
  summary:
    'Record the live objects that match the sources in the ledger as deployed (a baseline), so the first deploy applies only the differences',
  description:
    "Records a database that dbee never deployed in the ledger: the project's objects that exist live are recorded as deployed (those equal to the sources at the sources' checksum), so the first deployment applies only the differences. Nothing is applied to the schemas.",
  options: {
    project,
    env,
    dryRun: dryRun(
      'Show what would be recorded and check the gates (ticket, maintenance window, protection), without writing to the ledger.',
    ),
    assumeYes,
    ticket,
    now: clock(),
  },
});

export const auditCommand = defineCommand('audit', {
  summary:
    'Record who changes which object when on an environment (an event trigger into the ledger schema), for extract --since/--by',
  description:
    "Installs (--enable) or removes (--disable) an event trigger on ddl_command_end and sql_drop that records who changed which object when into the ledger schema; without either flag, lists the recorded changes to the project's schemas.",
  options: {
    project,
    env,
    enable: flag('Install the event trigger (needs a superuser on a PostgreSQL server).'),
    disable: flag('Remove the event trigger; what it recorded is kept.'),
    since: text('List only changes since this time (ISO, or `24h`, `10m`, `7d` ago).', { value: '<time|duration>' }),
    format: textOrJson(),
    dryRun: dryRun(
      'With --enable or --disable: show what would change and check the gates (ticket, maintenance window, protection), changing nothing.',
    ),
    assumeYes,
    ticket,
    now: clock(),
  },
});
