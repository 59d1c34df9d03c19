import type { SourceParser } from '../model/engine-facts';
import { formatKey, type ObjectKey } from '../model/object-key';
import { REFERENCE_TARGETS, type ReferenceKind } from '../model/source';
import type { SchemaModel } from './model';

/**
 * `model` with what each routine's body reads and calls added to its `dependsOn`, read by the engine's parser from
 * its definition as the planner reads a source file's (`references`), resolved against the model's own objects
 * (unqualified names through `searchPath`, first match). The catalog records none of it for a body that is a string
 * (PostgreSQL: a `LANGUAGE sql` or `plpgsql` function's `AS $$...$$`), yet a SQL function's body is checked when it
 * is created, and a routine whose callee is dropped is broken: what is created from a live model, and what stands on
 * a live object, are judged with these. A definition the parser cannot read keeps the dependencies it had.
 */
export async function withBodyDependencies(
  model: SchemaModel,
  parser: SourceParser,
  searchPath: readonly string[],
): Promise<SchemaModel> {
  const byName = new Map<string, ObjectKey[]>();
  const objects = [model.tables, model.views, model.routines, model.sequences, model.types];
  for (const { key } of objects.flat()) {
    const name = `${key.schema}.${key.name}`.toLowerCase();
    byName.set(name, [...(byName.get(name) ?? []), key]);
  }
  const routines = await Promise.all(
    model.routines.map(async (routine) => {
      const own = formatKey(routine.key);
      const known = new Set(routine.dependsOn.map(formatKey));
      const added: ObjectKey[] = [];
      for (const ref of await referencesOf(parser, routine.definition, own, searchPath)) {
        const kinds = REFERENCE_TARGETS[ref.kind];
        const found = ref.names
          .map((n) => (byName.get(n) ?? []).filter((k) => kinds.includes(k.kind)))
          .find((keys) => keys.length);
        for (const key of found ?? []) {
          const text = formatKey(key);
          if (text === own || known.has(text)) continue;
          known.add(text);
          added.push(key);
        }
      }
      return added.length ? { ...routine, dependsOn: [...routine.dependsOn, ...added] } : routine;
    }),
  );
  return { ...model, routines };
}

/**
 * What a definition (`what`, for the parser's messages) references, each as the `schema.name` candidates it may
 * mean, lower-cased: its own schema when qualified, else each schema of `searchPath` in order. Text the parser cannot
 * read references nothing.
 */
export async function referencesOf(
  parser: SourceParser,
  definition: string,
  what: string,
  searchPath: readonly string[],
): Promise<{ kind: ReferenceKind; names: string[] }[]> {
  const statements = await parser.parse(definition, what, { searchPath: [...searchPath] }).catch(() => []);
  return statements
    .flatMap((s) => s.references)
    .map((ref) => ({
      kind: ref.kind,
      names: (ref.schema !== undefined ? [ref.schema] : searchPath).map((s) => `${s}.${ref.name}`.toLowerCase()),
    }));
}
