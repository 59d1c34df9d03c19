import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbeeError } from '@dbee/core';
import { STRATEGIES } from '../../packages/core/src/operations/strategies';
import type { Strategy } from '../../packages/core/src/operations/strategies/strategy';
import { ENGINES, promotionWorkspace } from '../promotion/helpers';
import { run } from '../support/run';
import { cellsOf, runMatrix, strategyRows } from './guarantee-matrix';

/**
 * A third strategy is this file and one line of a table (issue 74): `append-only`, the direct strategy's plan with a
 * rule of its own in the plan stage (a step that drops something is refused, before anything runs). It reuses the
 * direct strategy's pipeline command, as blue/green will reuse the pipeline's stages, and the guarantee matrix gives it
 * its cells from its `deploy` phase alone.
 */
const APPEND_ONLY: Strategy = {
  name: 'append-only',
  summary: "the plan's steps, none of which drops anything",
  accepts: { options: {}, changes: 'every', roles: ['diff'] },
  deploy: {
    after: [],
    command: async () => {
      const direct = await STRATEGIES.direct.deploy.command();
      return (ctx, options, run) => {
        const command = direct(ctx, options, run);
        const plan = command.plan.bind(command);
        command.plan = async (...args) => {
          const planned = await plan(...args);
          for (const step of planned.plan.steps.filter((s) => s.action === 'drop'))
            planned.problems.push(
              new DbeeError(`${step.key}: the append-only strategy drops nothing`, {
                code: 'GATE_HAZARD_REFUSED',
                hint: 'deploy the drop with --strategy direct',
              }),
            );
          return planned;
        };
        return command;
      };
    },
  },
};

/** The one line. */
const TABLE = { ...STRATEGIES, 'append-only': APPEND_ONLY };

describe.each(ENGINES)('a toy third strategy [%s]', (engine) => {
  it('gets every cell of the guarantee matrix from its table line', async () => {
    const rows = strategyRows({ 'append-only': APPEND_ONLY }).deploy!;
    expect(rows.map((r) => r.name)).toEqual(['deploy --strategy append-only']);
    const outcomes = await runMatrix(engine, rows, { strategies: TABLE });
    // Every cell measured (in the order the run measures them, which is not the table's).
    expect([...outcomes.keys()].sort()).toEqual(
      cellsOf(rows[0]!)
        .map((c) => `deploy --strategy append-only: ${c}`)
        .sort(),
    );
    expect([...outcomes].filter(([, holds]) => !holds).map(([c]) => c)).toEqual([]);
  });

  describe('what it accepts, and its own rule', () => {
    let w: Awaited<ReturnType<typeof promotionWorkspace>>;
    const dbee = (options: Record<string, unknown>) =>
      run(w.w.root, 'deploy', { project: 'a', assumeYes: true, ...options }, w.vars('e'), TABLE);
    beforeAll(async () => {
      w = await promotionWorkspace(engine, ['e']);
    });
    afterAll(async () => w.cleanup());

    it('refuses the options another strategy owns, and a name no table line holds', async () => {
      const objects = await dbee({ strategy: 'append-only', objects: ['table:a.t'] });
      expect(objects.code).toBe(1);
      expect(objects.stderr).toContain(
        '--objects deploys a selection of the plan with the direct strategy: not with the append-only strategy',
      );
      const release = await dbee({ strategy: 'append-only', release: '2' });
      expect(release.code).toBe(1);
      expect(release.stderr).toContain(
        '--release names the release (its version schemas) with the expand-contract strategy: not with the append-only strategy',
      );
      const none = await dbee({ strategy: 'canary' });
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('--strategy canary: no such strategy');
      expect(none.stderr).toContain('one of direct, expand-contract, blue-green, append-only');
      expect(await w.query('e', "SELECT 1 FROM pg_namespace WHERE nspname = 'a'")).toEqual([]);
    });

    it('deploys what adds, refuses a plan that drops, which the direct strategy then deploys', async () => {
      w.w.write('a/v.sql', 'CREATE VIEW a.v AS SELECT id FROM a.t;');
      expect((await dbee({ strategy: 'append-only' })).code).toBe(0);
      rmSync(join(w.w.root, 'a/v.sql'));
      const dropping = await dbee({ strategy: 'append-only', prune: true });
      expect(dropping.code).toBe(1);
      expect(dropping.stderr).toContain('view:a.v: the append-only strategy drops nothing');
      expect(await w.query('e', "SELECT 1 FROM pg_views WHERE schemaname = 'a' AND viewname = 'v'")).toHaveLength(1);
      expect((await dbee({ prune: true })).code).toBe(0);
      expect(await w.query('e', "SELECT 1 FROM pg_views WHERE schemaname = 'a' AND viewname = 'v'")).toEqual([]);
    });
  });
});
