import { describe, expect, it } from 'vitest';
import type { DeferrableConstraint } from '../model/source';
import type { ProjectModel } from '../planner/project-model';
import { removedObjects } from './load';

/**
 * `removedObjects` tells a foreign key of a cycle (recorded under its own key, written in its table's file) from an
 * object whose source is gone. Its key comes from the table's parsed statement (`addStatement`, which the parse cache
 * makes lazily: a parse per table); a deployment with nothing of the kind in its ledger must not ask for it.
 */
function model(reads: string[]): ProjectModel {
  const table = (name: string, fk: string) => {
    const d = {
      target: { kind: 'table', schema: 's', name: 'other' },
      statementWithout: `CREATE TABLE s.${name} (id int)`,
      get addStatement() {
        reads.push(name);
        return `ALTER TABLE s.${name} ADD CONSTRAINT ${fk} FOREIGN KEY (id) REFERENCES s.other (id)`;
      },
    } as unknown as DeferrableConstraint;
    return { id: `table:s.${name}`, key: { kind: 'table', schema: 's', name }, deferrable: [d] };
  };
  return {
    objects: [table('a', 'a_fk'), table('b', 'b_fk')],
    graph: { schemas: ['s'] },
  } as unknown as ProjectModel;
}

describe('objects whose source is gone', () => {
  it("reads no table's foreign keys when the ledger records none apart from them", () => {
    const reads: string[] = [];
    const deployed = new Map([
      ['table:s.a', 'x'],
      ['table:s.b', 'x'],
      ['view:s.gone', 'x'],
    ]);
    expect(removedObjects(model(reads), { objects: deployed })).toEqual(['view:s.gone']);
    expect(reads).toEqual([]);
  });

  it('keeps a recorded foreign key of a cycle, reading only its own table', () => {
    const reads: string[] = [];
    const deployed = new Map([
      ['table:s.a', 'x'],
      ['table:s.b', 'x'],
      ['constraint:s.b_fk@s.b', 'x'],
      ['constraint:s.c_fk@s.c', 'x'],
    ]);
    expect(removedObjects(model(reads), { objects: deployed })).toEqual(['constraint:s.c_fk@s.c']);
    expect(reads).toEqual(['b']);
  });
});
