import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * The Nx batch path of the verified dry run (`nx affected -t deploy --dryRun`): a change of core that breaks a view of
 * sales is refused by core's dry run, naming the view, as the real run's smoke baseline would fail it (affected.test.ts,
 * "a change of core that breaks a view of sales fails core's deploy"). Before, the dry run was green.
 */
describe('nx affected -t deploy --dryRun compiles the views of other projects over what a change breaks', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create({
      files: {
        'databases/core/schema/core/functions/vat.sql':
          'CREATE FUNCTION core.vat(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount * 0.2 $$;\n',
        'databases/sales/schema/sales/views/order_vat.sql':
          'CREATE VIEW sales.order_vat AS SELECT id, core.vat(amount) AS vat, core.vat(1) AS rate FROM sales.orders;\n',
      },
    });
    // Setup in-process (the CLI's command runner: reporting with its dependencies, what `nx run-many -t deploy` deploys):
    // an Nx process costs seconds; the command under test below is an `nx affected` process.
    const r = await run(team.root, 'deploy', { project: 'reporting', env: 'qa' }, team.environment);
    expect(r.code, r.stderr).toBe(0);
    expect(await team.deployedProjects('qa')).toEqual(['core', 'reporting', 'sales']);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  it("refuses core's dry run naming sales.order_vat; the ledger is unchanged", async () => {
    const ledger = () => team.query<{ n: number }>('qa', 'SELECT count(*)::int AS n FROM dbee.deployments');
    const before = await ledger();
    await team.branch('core-function-broken');
    team.write({
      'databases/core/schema/core/functions/vat.sql':
        'CREATE FUNCTION core.vat(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount / 0 $$;\n',
    });
    await team.commitAll('core: a function that breaks the views calling it');
    const r = await team.nx(['affected', '-t', 'deploy', '--env=qa', '--dryRun', '--base=main', '--head=HEAD'], {
      NX_DEFAULT_OUTPUT_STYLE: 'static',
    });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(
      /view sales\.order_vat, which stands on what core changes, fails to compile[^\n]*division by zero/,
    );
    expect(await ledger()).toEqual(before);
  });
});
