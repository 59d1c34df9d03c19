import { describe, expect, it } from 'vitest';
import type { ProjectModel } from './project-model';
import { checkSelection, readSelection } from './selection';

/** A project model with just what `checkSelection` reads: its name and its objects' keys. */
const model = (name: string, keys: { kind: string; schema: string; name: string }[]) =>
  ({ project: { name }, objects: keys.map((key) => ({ key })) }) as unknown as ProjectModel;

describe('checkSelection', () => {
  const a = model('a', [{ kind: 'view', schema: 'a', name: 'v' }]);
  const selection = readSelection({ objects: ['function:c.one'] }, (p) => p)!;

  it('refuses an entry that matches no object of the planned projects', () => {
    expect(() => checkSelection(selection, [a], ['a'])).toThrow('--objects function:c.one matches no object of a');
  });

  it("leaves an entry naming another project's schema to that project's run (Nx runs dependencies with the same options)", () => {
    expect(() => checkSelection(selection, [a], ['a'], new Set(['b', 'c']))).not.toThrow();
    expect(() => checkSelection(selection, [a], ['a'], new Set(['b']))).toThrow('matches no object of a');
  });
});
