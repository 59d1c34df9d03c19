import { BoundedMemo } from '../bounded-memo';
import type { SourceParser } from '../model/engine-facts';
import { formatKey, type ObjectKey } from '../model/object-key';
import { type ParsedStatement, REFERENCE_TARGETS, type ReferenceKind } from '../model/source';
import type { SchemaModel } from './model';

/** One reference of a definition: its kind and the `schema.name` candidates it may mean, lower-cased, in order. */
export interface BodyReference {
  kind: ReferenceKind;
  names: string[];
}

/**
 * Where the references of definitions read in earlier runs are kept (`.dbee/cache`), by a key that `withBodyDependencies`
 * makes of the definition and the search path; the parser is the store's to tell apart (its file's name). Optional.
 */
export interface KeptReferences {
  /** The references kept for `key`, counted as used; undefined when none are. */
  get(key: string): BodyReference[] | undefined;
  /** Keep `references` for `key`, made in this run. */
  put(key: string, references: BodyReference[]): void;
}

/**
 * `model` with what each routine's body reads and calls added to its `dependsOn`, read by the engine's parser from
 * its definition as the planner reads a source file's (`references`), resolved against the model's own objects
 * (unqualified names through `searchPath`, first match). The catalog records none of it for a body that is a string
 * (PostgreSQL: a `LANGUAGE sql` or `plpgsql` function's `AS $$...$$`), yet a SQL function's body is checked when it
 * is created, and a routine whose callee is dropped is broken: what is created from a live model, and what stands on
 * a live object, are judged with these. A definition the parser cannot read keeps the dependencies it had. A
 * definition whose references are known (this process read the same text before, or `kept` holds them) is not parsed
 * again (`referencesOf`).
 */
export async function withBodyDependencies(
  model: SchemaModel,
  parser: SourceParser,
  searchPath: readonly string[],
  kept?: KeptReferences,
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
      for (const ref of await referencesOf(parser, routine.definition, own, searchPath, kept)) {
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
 *
 * A pure function of the parser, the definition and the search path (`what` only names the text in messages, which
 * are dropped), so what it answered is kept for the next call with the same text: per parser in this process
 * (a `BoundedMemo`), and in `kept` when given (between runs). A routine read back from two databases (a shadow, then
 * a fleet's targets; a rollback's undo plan per target) prints alike there, and the parse of its definition was most
 * of the JavaScript after an uncached diff's read-back (docs/performance.md, "Issue 90's cuts"). Only what the parser
 * read is kept; text it refused is parsed again next time. The answer is shared: callers do not change it.
 */
export async function referencesOf(
  parser: SourceParser,
  definition: string,
  what: string,
  searchPath: readonly string[],
  kept?: KeptReferences,
): Promise<BodyReference[]> {
  const key = referenceKey(definition, searchPath);
  let memo = MEMOS.get(parser);
  if (!memo) MEMOS.set(parser, (memo = new BoundedMemo<BodyReference[]>(MEMO_BUDGET, referencesCost)));
  const known = memo.get(key);
  if (known) {
    // Counted as used by the store (put there when it lacks it), so that its file keeps it.
    if (kept && !kept.get(key)) kept.put(key, known);
    return known;
  }
  const stored = kept?.get(key);
  if (stored) {
    memo.set(key, stored);
    return stored;
  }
  let statements: ParsedStatement[];
  try {
    statements = await parser.parse(definition, what, { searchPath: [...searchPath] });
  } catch {
    return [];
  }
  const references = statements
    .flatMap((s) => s.references)
    .map((ref) => ({
      kind: ref.kind,
      names: (ref.schema !== undefined ? [ref.schema] : searchPath).map((s) => `${s}.${ref.name}`.toLowerCase()),
    }));
  memo.set(key, references);
  kept?.put(key, references);
  return references;
}

/** The key of a definition's references: the search path and the text (what they are a function of, with the parser). */
function referenceKey(definition: string, searchPath: readonly string[]): string {
  return `${searchPath.join('\0')}\0\0${definition}`;
}

/** The most characters each parser's memo keeps, keys and names counted (about 8 MB of strings at 2 bytes each). */
const MEMO_BUDGET = 4_000_000;

/** One memo per parser object: engines' parsers read the same text differently. */
const MEMOS = new WeakMap<SourceParser, BoundedMemo<BodyReference[]>>();

/** What a definition's references cost in a memo, in characters: their names, and 8 for each reference. */
const referencesCost = (references: readonly BodyReference[]) =>
  references.reduce((n, r) => n + 8 + r.names.reduce((m, s) => m + s.length, 0), 0);
