import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { deployments, deployOk, shopAtV1, V2, writeAll } from './fixture';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * `rollback --report <file>` (issue #55): a rollback is a command of the pipeline, so it writes the report a deployment
 * writes, whatever the outcome: refused by a gate, a dry run, and the run with its steps, ticket and deployment ids.
 */
describe.each(ENGINES)('rollback --report [%s]', (engine) => {
  it('writes the report of a refusal, of the dry run and of the rollback, with its status, steps and ticket', async () => {
    const w = await shopAtV1(engine);
    workspaces.push(w);
    writeAll(w, V2);
    await deployOk(w);
    w.write('dbee.yaml', workspaceYaml(engine, { environment: 'gates:\n  requireTicket: true' }));
    const report = (file: string) => JSON.parse(readFileSync(join(w.root, file), 'utf8'));

    const refused = await run(w.root, 'rollback', { project: 'shop', report: 'refused.json' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(report('refused.json')).toMatchObject({
      status: 'refused',
      exitCode: 1,
      phase: 'rollback',
      ticket: null,
      steps: [],
      error: { code: 'GATE_TICKET_REQUIRED' },
    });

    const dry = await run(
      w.root,
      'rollback',
      { project: 'shop', ticket: 'CHG-9', dryRun: true, report: 'dry.json' },
      w.target.vars,
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(report('dry.json')).toMatchObject({ status: 'dry-run', exitCode: 0, ticket: 'CHG-9', planned: ['shop'] });
    expect(await deployments(w.target)).toHaveLength(2);

    const back = await run(
      w.root,
      'rollback',
      { project: 'shop', ticket: 'CHG-9', report: 'out/rollback.json' },
      w.target.vars,
    );
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('report written to');
    const [, , undone] = await deployments(w.target);
    expect(undone).toMatchObject({ id: 3, kind: 'rollback', reverts: 2, status: 'succeeded' });
    const r = report('out/rollback.json');
    expect(r).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      phase: 'rollback',
      environment: 'target',
      planned: ['shop'],
      ticket: 'CHG-9',
      // The undo ran in one transaction (undoOne's first attempt), as the ledger's summary says.
      transaction: 'plan',
      smoke: expect.stringMatching(/^shop passed/),
      projects: [{ project: 'shop', deploymentId: 3, status: 'succeeded', stepsApplied: undone!.steps_applied }],
    });
    expect(r.steps.length).toBe(undone!.steps_applied);
    expect(
      r.steps.every((s: { status: string; project: string }) => s.status === 'applied' && s.project === 'shop'),
    ).toBe(true);
    expect(r.steps.map((s: { order: number }) => s.order)).toEqual(r.steps.map((_: unknown, i: number) => i + 1));

    // Nothing after deployment 3 to undo: exit 0, and the report says so.
    const none = await run(
      w.root,
      'rollback',
      { project: 'shop', ticket: 'CHG-9', to: '3', report: 'none.json' },
      w.target.vars,
    );
    expect(none.code, none.stderr).toBe(0);
    expect(report('none.json')).toMatchObject({ status: 'unchanged', exitCode: 0, steps: [], projects: [] });
    expect(await deployments(w.target)).toHaveLength(3);
  });
});
