import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TEAM_DBEE_YAML, TeamWorkspace } from '../support/team-workspace';
import { appQueriesFile, customersTable } from './queries';

/**
 * Issue #37 item 3 as CI runs it: `nx affected -t diff -c markdown` (the real `nx`, the pull request job of
 * `nx g @dbee/nx:ci`) on a branch of the team workspace whose `dev` environment names the application's queries. The
 * Markdown each affected project's diff writes carries the compatibility check, and a query the branch breaks fails
 * the job.
 */
const CUSTOMERS = 'databases/core/schema/core/tables/customers.sql';

describe('nx affected -t diff -c markdown carries the compatibility check', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create({
      files: {
        'dbee.yaml': TEAM_DBEE_YAML.replace(
          '      url: ${DBEE_DEV_URL}\n',
          '      url: ${DBEE_DEV_URL}\n    compat: { queries: app/queries }\n',
        ),
        'app/queries/app.sql': appQueriesFile(),
        [CUSTOMERS]: customersTable('phone text'),
      },
    });
    // Setup in-process (the CLI's command runner); the command under test is `nx affected`.
    const deployed = await run(team.root, 'deploy', { project: 'reporting', env: 'dev' }, team.environment);
    expect(deployed.code, deployed.stderr).toBe(0);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  it('a branch that renames core.customers.phone: the Markdown names the 4 queries it breaks, and the job fails', async () => {
    await team.branch('rename-phone');
    team.write({ [CUSTOMERS]: customersTable('mobile text') });
    await team.commitAll('phone is mobile');
    const r = await team.nx(['affected', '-t', 'diff', '-c', 'markdown', '--base=main', '--head=HEAD'], {
      DBEE_ENV: 'dev',
    });
    expect(r.code, r.output).not.toBe(0);
    const md = readFileSync(join(team.root, 'dist/dbee/db-core/diff/diff.md'), 'utf8');
    expect(md).toContain('### Application queries against this plan');
    // core's diff copies core's schemas only (a project and its dependencies): queries over sales and reporting fail
    // on that copy before the plan already, and are not checked there.
    expect(md).toContain('18 checked · **4 broken** · 0 with other result columns · 19 not checked');
    expect(md).toContain('| `SELECT phone FROM core.customers WHERE id = $1` |');
    expect(r.output).toContain("4 of the application's 18 queries would fail after this deployment");
  });
});
