import { defineCommand } from './command';
import { comparison, concurrency, env, labels, project, shard } from './common';
import { choiceWithDefault, flag, negatedFlag, text } from './option';

export const diffCommand = defineCommand('diff', {
  summary: 'Compare an environment with the sources, another environment, or two git refs',
  description:
    'Compares the sources of a dbee project with a live database (or two environments, or two git refs) and reports the changes with their hazards.',
  options: {
    project,
    env,
    labels: labels(),
    shard: shard(),
    concurrency: concurrency('compared'),
    ...comparison('diff'),
    format: choiceWithDefault(
      ['text', 'json', 'markdown', 'github', 'sarif', 'gcc'],
      'text',
      "Report format: text, json, markdown (for a pull-request comment), or the hazards as review diagnostics at each object's file and line: github (workflow annotations), sarif (SARIF 2.1.0, code scanning) or gcc (`file:line:col: severity: message`, editors' problem matchers).",
    ),
    failOnDiff: flag('Exit with code 1 when anything differs (a drift check for CI).'),
    output: text(
      'Also write the report to this file (relative to the workspace root; any path you type is honoured, inside the workspace or not).',
      { value: '<file>' },
    ),
    cache: negatedFlag(
      'Reuse a cached model or diff while its hashes match. `--no-cache` recomputes (and still writes the cache).',
      { flag: 'no-cache' },
    ),
  },
});
