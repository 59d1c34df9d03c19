import { defineCommand } from './command';
import { project } from './common';
import { choiceWithDefault, flag, text } from './option';

export const graphCommand = defineCommand('graph', {
  summary: 'Draw the objects of a project and their dependencies as a page (or json, dot), with the impact of a change',
  description:
    'Writes the object-level dependency graph of a dbee project (every object, every reference the parser found) as a self-contained HTML page, JSON or Graphviz dot; with an environment or a git ref, colours what the pending change creates, alters, replaces or drops.',
  options: {
    project,
    env: text(
      "Colour what deploying the sources to this environment would change (a diff against its live database) and grey out the rest. With `base`, it only chooses the variables; without either, no database is read and the variables are DBEE_ENV's, else dbee.yaml's `defaultEnvironment`'s.",
      { short: 'e', value: '<name>' },
    ),
    base: text('Colour what changed between this git ref of the sources and `head` (no database).', { value: '<ref>' }),
    head: text('The new side of a `base` comparison. Default: the working tree.', { value: '<ref>' }),
    withDeps: flag('Draw the projects it depends on in full too (otherwise only the objects of theirs that it uses).'),
    format: choiceWithDefault(
      ['html', 'json', 'dot'],
      'html',
      'html: one self-contained page (no network needed); json: nodes and edges with kinds, files and lines; dot: Graphviz.',
    ),
    out: text(
      'Write to this file (relative to the workspace root; any path you type is honoured, inside the workspace or not). Default: `dist/dbee/graph/<project>.html` for html, standard output for json and dot.',
      {
        short: 'o',
        value: '<file>',
      },
    ),
  },
});
