import { beforeAll, describe, expect, it } from 'vitest';
import { loadPostgresParser } from '../parse/libpg';
import { releaseFacts } from './release-facts';

describe("a release's facts for the advice", () => {
  beforeAll(() => loadPostgresParser());

  it('reads created and dropped indexes, dropped constraints, foreign keys added, and tables whose rows a migration writes', () => {
    const facts = releaseFacts([
      { key: 'index:s.t_a', action: 'create', statements: ['CREATE INDEX CONCURRENTLY t_a ON s.t USING btree (a)'] },
      { key: 'index:s.t_expr', action: 'create', statements: ['CREATE INDEX t_expr ON s.t (lower(b))'] },
      {
        key: 'table:s.r',
        action: 'create',
        statements: [
          'CREATE TABLE s.r (id int PRIMARY KEY, t_id int REFERENCES s.t (id), u int, CONSTRAINT r_u FOREIGN KEY (u) REFERENCES s.u)',
        ],
      },
      {
        key: 'table:s.t',
        action: 'alter',
        statements: [
          'ALTER TABLE s.t ADD CONSTRAINT t_v FOREIGN KEY (v) REFERENCES s.v NOT VALID',
          'ALTER TABLE s.t DROP CONSTRAINT t_pkey',
        ],
      },
      {
        key: 'migration:p/V3',
        action: 'migrate',
        statements: ['UPDATE s.t SET a = 1 WHERE a IS NULL; DROP INDEX s.old_idx; INSERT INTO s.r SELECT 1, 1, 1'],
      },
    ]);
    expect(facts.createdIndexes).toEqual([
      { key: 'index:s.t_a', index: { schema: 's', table: 't', columns: ['a'], name: 't_a' } },
    ]);
    expect(facts.droppedIndexes).toEqual([{ key: 'migration:p/V3', schema: 's', name: 'old_idx' }]);
    // A key's index goes with its constraint (the diff drops a primary key so).
    expect(facts.droppedConstraints).toEqual([{ key: 'table:s.t', schema: 's', table: 't', name: 't_pkey' }]);
    expect(facts.foreignKeys.map((f) => `${f.table}(${f.columns})`)).toEqual(['r(t_id)', 'r(u)', 't(v)']);
    expect(facts.dataChanged.map((d) => `${d.key} ${d.schema}.${d.name}`)).toEqual([
      'migration:p/V3 s.t',
      'migration:p/V3 s.r',
    ]);
  });
});
