import { defineCommand } from './command';
import { choiceWithDefault, flag, optionalPositional, text, texts } from './option';

export const docsCommand = defineCommand('docs', {
  summary: 'Write a site of the projects: every schema and object, ER diagrams, search, and a release board with --env',
  description:
    "Writes a static site documenting the workspace's database projects (or those named) from their sources alone: a page per project, schema and object (columns, keys, constraints, indexes, triggers, policies, grants, the SQL source with its file and line, what it reads and what reads it across projects, its smoke checks and the schema review findings), an ER diagram per schema and per viewpoint, a search over every object name and comment coverage per project; or Markdown with Mermaid diagrams, or JSON. With environments, adds a release board of what each one's ledger says is deployed.",
  options: {
    project: optionalPositional(
      'Projects to document, comma-separated (`sales,core`). Default: every project of the workspace. The inferred target sets its own.',
    ),
    env: texts(
      "Environments for the release board (`--env dev,qa,prod`, or the flag repeated): each one's ledger is read (what `dbee status` and `dbee log` read; nothing is written) for every documented project. An environment that cannot be read is shown as not reachable. Without it there is no board and no database is read; the sources are parsed with the variables of DBEE_ENV's environment, else dbee.yaml's `defaultEnvironment`.",
      { short: 'e', value: '<names>' },
    ),
    format: choiceWithDefault(
      ['html', 'markdown', 'json'],
      'html',
      'html: a site of plain pages that opens from the file system; markdown: README.md files with Mermaid ER diagrams, for a repository browser; json: the whole site as data (`docs.json`).',
    ),
    out: text(
      'Folder to write the site into (relative to the workspace root; created when missing). Files dbee docs did not write are left alone. Default: `dist/dbee/docs`.',
      { short: 'o', value: '<folder>' },
    ),
    check: flag(
      'Write nothing: compare the folder with what would be written and exit 1 naming each file that differs, is missing or is left over (for CI, over committed docs).',
    ),
  },
});
