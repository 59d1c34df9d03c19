import { describe, expect, it } from 'vitest';
import type { ObjectKey } from '../model/object-key';
import { dependencyStarts, viewsToCompile, type AppliedChange, type DependencyNode } from './stale-views';

const view = (name: string): ObjectKey => ({ kind: 'view', schema: 'app', name });
const fn = (name: string): ObjectKey => ({ kind: 'function', schema: 'app', name, args: ['integer'] });
const table = (name: string): ObjectKey => ({ kind: 'table', schema: 'app', name });
const step = (order: number, key: ObjectKey, action = 'create'): AppliedChange => ({ key, order, action });

// t ← v1 ← v2 (a view over a view); f ← vf (a view calling an SQL function whose body reads u).
const DEPENDENCIES = new Map<string, DependencyNode>([
  ['relation:app.v1', { dependsOn: ['relation:app.t'] }],
  ['relation:app.v2', { dependsOn: ['relation:app.v1'] }],
  ['relation:app.vf', { dependsOn: ['routine:app.f'] }],
  ['routine:app.f', { dependsOn: [], overloads: 1 }],
]);
const BODIES = new Map([['routine:app.f', ['relation:app.u']]]);
// c over v2, reading a column of it.
const DEPENDENCIES_WITH_C = new Map(DEPENDENCIES).set('relation:app.c', { dependsOn: ['relation:app.v2'] });
const VIEWS = [view('v1'), view('v2'), view('vf')];
const compiled = (changes: AppliedChange[], deps = DEPENDENCIES) =>
  viewsToCompile(VIEWS, changes, deps, BODIES).map((k) => k.name);

describe('viewsToCompile: the views a deployment can have broken', () => {
  it('a deployment from empty, each object defined after what it uses: the views no other view stands on', () => {
    // Planned once each, by themselves or under a view over them: v1 with v2, not twice.
    const schema: ObjectKey = { kind: 'schema', schema: '', name: 'app' };
    const full = [schema, table('t'), table('u'), fn('f'), view('v1'), view('v2'), view('vf')].map((k, i) =>
      step(i + 1, k),
    );
    expect(compiled(full)).toEqual(['v2', 'vf']);
    // Another schema created after the views (a new schema holds nothing they use): v1 is still planned only under v2.
    expect(compiled([step(1, view('v1')), step(2, view('v2')), step(3, { ...schema, name: 'other' })])).toEqual(['v2']);
  });

  it('an object under a view changed after the view was defined: the view and every view over it', () => {
    expect(compiled([step(1, view('v1')), step(2, view('v2')), step(3, table('t'), 'alter')])).toEqual(['v1', 'v2']);
    // Replaced after the view over it: that view is compiled, the replaced one not.
    expect(compiled([step(1, view('v2')), step(2, view('v1'), 'replace')])).toEqual(['v2']);
    expect(compiled([step(1, view('vf')), step(2, fn('f'), 'replace')])).toEqual(['vf']);
  });

  it('existing views (not defined by the deployment) over a changed object, through views of views', () => {
    expect(compiled([step(1, table('t'), 'alter')])).toEqual(['v1', 'v2']);
    expect(compiled([step(1, view('v1'), 'replace')])).toEqual(['v2']);
  });

  it("a routine's body: a table it reads changed after the routine, even before the view that calls it", () => {
    expect(compiled([step(1, fn('f')), step(2, table('u'), 'alter'), step(3, view('vf'))])).toEqual(['vf']);
    // Defined after what it uses: compiled for what only planning checks, not because something changed under it.
    expect(compiled([step(1, table('u'), 'alter'), step(2, fn('f'), 'replace'), step(3, view('vf'))])).toEqual(['vf']);
    // Another overload of the name not defined by the deployment: its body is as old as the database's.
    const two = new Map(DEPENDENCIES).set('routine:app.f', { dependsOn: [], overloads: 2 });
    expect(compiled([step(1, table('u'), 'alter'), step(2, fn('f'), 'replace'), step(3, view('vf'))], two)).toEqual([
      'vf',
    ]);
  });

  it('a step the database cannot follow (a migration) reaches every view defined before it; indexes none', () => {
    const migration = { kind: 'migration', schema: '', name: 'V1__seed' } as const;
    expect(compiled([step(1, view('v1')), step(2, migration, 'migrate'), step(3, view('v2'))])).toEqual([
      'v1',
      'v2',
      'vf',
    ]);
    const index: ObjectKey = { kind: 'index', schema: 'app', name: 't_idx', parent: 'app.t' };
    expect(compiled([step(1, table('t')), step(2, view('v1')), step(3, view('v2')), step(4, index)])).toEqual(['v2']);
  });

  it('a view over a view it reads no column of (opaque): not compiled for a change under or of that view', () => {
    // t ← v1 ← v2 as before, and c reads v2 as `SELECT count(*) FROM v2`: a chain of views by their row counts.
    const deps = new Map(DEPENDENCIES).set('relation:app.c', {
      dependsOn: ['relation:app.v2'],
      opaque: ['relation:app.v2'],
    });
    const views = [view('v1'), view('v2'), view('c')];
    const of = (changes: AppliedChange[]) => viewsToCompile(views, changes, deps, BODIES).map((k) => k.name);
    // Under v2 a table changed: v1 and v2 (which read the columns under them) compile, by themselves; c not.
    expect(of([step(1, table('t'), 'alter')])).toEqual(['v1', 'v2']);
    // v2 replaced (whatever its columns): c is not stale; v2, defined by the deployment and on top, is planned.
    expect(of([step(1, view('v2'), 'replace')])).toEqual(['v2']);
    // Without the opaque edge (c reads a column of v2: `SELECT 1/k FROM v2` fails once v2 makes k a constant 0).
    expect(
      viewsToCompile(views, [step(1, view('v2'), 'replace')], DEPENDENCIES_WITH_C, BODIES).map((k) => k.name),
    ).toEqual(['c']);
  });

  it('a view changed by a step that did not define it (a rollback putting it back, an ALTER) is compiled itself', () => {
    const deps = new Map(DEPENDENCIES).set('relation:app.c', {
      dependsOn: ['relation:app.v2'],
      opaque: ['relation:app.v2'],
    });
    const views = [view('v1'), view('v2'), view('c')];
    expect(viewsToCompile(views, [step(1, view('v2'), 'alter')], deps, BODIES).map((k) => k.name)).toEqual(['v2']);
    expect(viewsToCompile(views, [step(1, view('v1'), 'alter')], deps, BODIES).map((k) => k.name)).toEqual([
      'v1',
      'v2',
    ]);
  });

  it('a view the database records nothing for is compiled', () => {
    expect(viewsToCompile([view('x')], [], DEPENDENCIES)).toEqual([view('x')]);
  });
});

describe('dependencyStarts: where the views of other projects over what a deployment changed are looked for', () => {
  const policy: ObjectKey = { kind: 'policy', schema: 'app', name: 'p', parent: 'app.t' };
  const migration: ObjectKey = { kind: 'migration', schema: 'app', name: 'V1__seed' } as ObjectKey;

  it("the project's own objects changed in place; not what it created or dropped, nor other projects' steps", () => {
    const changes: AppliedChange[] = [
      { ...step(1, fn('f'), 'replace'), project: 'core' },
      { ...step(2, table('t'), 'alter'), project: 'app' },
      { ...step(3, fn('f'), 'replace'), project: 'app' },
      { ...step(4, view('new'), 'create'), project: 'app' },
      { ...step(5, view('old'), 'drop'), project: 'app' },
      { ...step(6, policy, 'alter'), project: 'app' },
      { ...step(7, { kind: 'index', schema: 'app', name: 'i', parent: 'app.t' }, 'alter'), project: 'app' },
    ];
    expect(dependencyStarts(changes, 'app', [])).toEqual([
      { node: 'relation', schema: 'app', name: 't' },
      { node: 'routine', schema: 'app', name: 'f' },
    ]);
  });

  it('a first deployment: nothing; a step the database cannot follow (a migration): every object of the project', () => {
    expect(dependencyStarts([step(1, table('t')), step(2, view('v1'))], 'app', [table('t'), view('v1')])).toEqual([]);
    const deployed = [table('t'), view('v1'), fn('f'), { kind: 'type', schema: 'app', name: 'pair' } as ObjectKey];
    expect(dependencyStarts([step(1, migration, 'migrate')], 'app', deployed)).toEqual([
      { node: 'relation', schema: 'app', name: 't' },
      { node: 'relation', schema: 'app', name: 'v1' },
      { node: 'routine', schema: 'app', name: 'f' },
      { node: 'type', schema: 'app', name: 'pair' },
    ]);
  });
});
