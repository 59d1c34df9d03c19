import { describe, expect, it } from 'vitest';
import { TextLines } from './text';
import { addDependsOn } from './yaml-edit';

/** `text` with the edit applied. */
function applied(text: string, dependency: string): string | null {
  const edit = addDependsOn(text, dependency);
  if (!edit) return null;
  const lines = new TextLines(text);
  return text.slice(0, lines.offsetAt(edit.range.start)) + edit.newText + text.slice(lines.offsetAt(edit.range.end));
}

describe('addDependsOn: the db.yaml edit of the "add dependsOn" quick fix, the file kept as written', () => {
  it('adds to a flow list, an empty one, and a block list at its indentation', () => {
    expect(applied('name: sales\nschemas: [sales]\ndependsOn: [core] # shared\n', 'geo')).toBe(
      'name: sales\nschemas: [sales]\ndependsOn: [core, geo] # shared\n',
    );
    expect(applied('name: sales\ndependsOn: []\n', 'core')).toBe('name: sales\ndependsOn: [core]\n');
    expect(applied('name: sales\ndependsOn:\n  - core\n  - geo\nsearchPath: [sales]\n', 'hr')).toBe(
      'name: sales\ndependsOn:\n  - core\n  - geo\n  - hr\nsearchPath: [sales]\n',
    );
  });

  it('writes the key after schemas when there is none, else at the end', () => {
    expect(applied('name: sales\nschemas:\n  - sales\n  - archive\nengine: postgres\n', 'core')).toBe(
      'name: sales\nschemas:\n  - sales\n  - archive\ndependsOn: [core]\nengine: postgres\n',
    );
    expect(applied('name: sales\nengine: postgres', 'core')).toBe('name: sales\nengine: postgres\ndependsOn: [core]\n');
  });

  it('changes nothing when the entry is there, or when the file does not parse', () => {
    expect(applied('dependsOn: [core]\n', 'core')).toBeNull();
    expect(applied('dependsOn: [core\n', 'geo')).toBeNull();
  });
});
