import { describe, expect, it } from 'vitest';
import { BLUE_GREEN } from '../../packages/core/src/operations/strategies/blue-green/strategy';
import { cellsOf, type MatrixStage, runMatrix, strategyRows } from '../pipeline/guarantee-matrix';
import { OwnCluster } from '../support/own-cluster';
import { tempWorkspace } from '../support/workspace';
import { FILE_ROUTER, sql } from './setup';

/**
 * The guarantee matrix's rows of the blue/green strategy (`deploy --strategy blue-green`, `switch`, `fallback`,
 * `finish`), which the shared workspace of test/pipeline/guarantees.test.ts cannot run: on a cluster of their own with
 * wal_level = logical, blue the gated environment `e` and green `g` on it, and a router of commands (a user's hook that
 * records the side it routes to). The phases run in their life cycle's order, each row's cells before its run: the
 * release made on green, the switch to it, the fallback to blue, then the finish that drops green.
 */
describe('the guarantee matrix [blue/green]', () => {
  it('holds every cell of every phase', async () => {
    let cluster: OwnCluster | undefined;
    const stage = async (): Promise<MatrixStage> => {
      cluster = await OwnCluster.start({ wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' });
      await sql(cluster.url(), 'CREATE DATABASE app');
      const urls: Record<string, string> = { e: cluster.url('app'), g: cluster.url('app_green') };
      const w = tempWorkspace({
        'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
        'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);',
        'a/smoke/t.yaml':
          "checks:\n  - name: nothing blocks\n    query: SELECT count(*)::int AS n FROM pg_class WHERE relname = 'smoke_blocker' AND relkind = 'r'\n    rows: [{ n: 0 }]\n",
        ...FILE_ROUTER.files,
      });
      const stop = cluster;
      return {
        base: {
          w,
          vars: () => ({}),
          // A session of the test's own, as a DBA's by hand: blue is read-only for the application after a switch.
          query: async <T = Record<string, unknown>>(env: string, text: string) =>
            (await sql(urls[env]!, 'SET default_transaction_read_only = off', text)) as T[],
          deployed: async () => true,
          dbee: () => {
            throw new Error('not used by the matrix');
          },
          cleanup: async () => {
            await stop.stop();
            w.remove();
          },
        },
        yaml: (gates, notify) => `version: 1
defaultEnvironment: e
environments:
  e:
    engine: postgres
    connection: { url: "${urls.e}" }
    gates: ${gates}
    blueGreen: { green: g, router: ${FILE_ROUTER.yaml} }
  g:
    engine: postgres
    connection: { url: "${urls.g}" }
notify:
  - url: "${notify}"
`,
        // The release's rows are green's ledger's; a switch's, a fallback's and a finish's are blue's.
        ledgers: ['e', 'g'],
      };
    };
    const byCommand = strategyRows({ 'blue-green': BLUE_GREEN });
    // In the life cycle's order: each phase runs on the state the row before it left (its `after`).
    const rows = (['deploy', 'switch', 'fallback', 'finish'] as const).map((phase, i) => {
      const row = byCommand[phase]![0]!;
      return { ...row, driven: true, ...(i > 0 ? { setup: undefined } : {}) };
    });
    const outcomes = await runMatrix('postgres', rows, { stage });
    // Every cell measured, whatever order the run measures them in (converged right after the run's exit code).
    expect([...outcomes.keys()].sort()).toEqual(rows.flatMap((r) => cellsOf(r).map((c) => `${r.name}: ${c}`)).sort());
    expect([...outcomes].filter(([, holds]) => !holds).map(([c]) => c)).toEqual([]);
  }, 600_000);
});
