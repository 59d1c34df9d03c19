import type { ObjectKind } from '../model/object-key';
import { REFERENCE_TARGETS, type Reference } from '../model/source';
import type { SourceObject } from './objects';

/** What resolution needs of a project (a `GraphProject` has it): its search path and its dependencies. */
export interface ResolvingProject {
  /** Schemas searched for unqualified names, in order. */
  searchPath: readonly string[];
  /** Direct dependencies (project names). */
  dependsOn: readonly string[];
}

/**
 * How a reference finds the objects it names: the one rule the planner's graph (`buildGraph`) and the language server
 * (`lsp/`) share. A qualified name is looked up in its schema; an unqualified one in the schemas of its project's
 * search path, in order, the first schema with a match winning; a schema reference among schemas (and Teradata
 * databases). Names compare without regard to case, as the keys hold them.
 */
export class ReferenceIndex {
  private readonly byName = new Map<string, SourceObject[]>();
  /** Extensions by the schema they are installed in (`WITH SCHEMA`, else their project's first schema). */
  private readonly extensionsIn = new Map<string, SourceObject[]>();

  constructor(
    objects: readonly SourceObject[],
    private readonly projects: ReadonlyMap<string, ResolvingProject>,
  ) {
    for (const o of objects) {
      const k = `${o.key.schema}.${o.key.name}`.toLowerCase();
      const list = this.byName.get(k);
      if (list) list.push(o);
      else this.byName.set(k, [o]);
    }
    for (const o of objects) {
      if (o.key.kind !== 'extension') continue;
      const schema = (
        o.references.find((r) => r.kind === 'schema')?.name ?? projects.get(o.project)?.searchPath[0]
      )?.toLowerCase();
      if (schema !== undefined) this.extensionsIn.set(schema, [...(this.extensionsIn.get(schema) ?? []), o]);
    }
  }

  /** The objects called `schema.name` of one of `kinds` (every kind when empty). Schemas have the schema `''`. */
  lookup(schema: string, name: string, kinds: readonly ObjectKind[]): SourceObject[] {
    return (this.byName.get(`${schema}.${name}`.toLowerCase()) ?? []).filter(
      (o) => kinds.length === 0 || kinds.includes(o.key.kind),
    );
  }

  /** The schemas `ref`, written in a source of `project`, is looked up in, in order. */
  schemasFor(project: string, ref: Pick<Reference, 'kind' | 'schema'>): readonly string[] {
    if (ref.kind === 'schema') return [''];
    if (ref.schema !== undefined) return [ref.schema];
    return this.projects.get(project)?.searchPath ?? [];
  }

  /** The objects `ref` (written in a source of `project`) names: those of the first schema searched that has any. */
  targets(project: string, ref: Pick<Reference, 'kind' | 'schema' | 'name'>): SourceObject[] {
    const kinds = REFERENCE_TARGETS[ref.kind];
    for (const schema of this.schemasFor(project, ref)) {
      const found = this.lookup(schema, ref.name, kinds);
      if (found.length) return found;
    }
    return [];
  }

  /**
   * For a reference that names no object of the sources: the extensions it may belong to (`public.cube`,
   * `public.ll_to_earth`), those of `object`'s project or its dependencies installed where the name is looked for. A
   * text search dictionary or template no source defines (`unaccent`) is looked for the same way.
   */
  extensionsFor(object: SourceObject, ref: Reference): SourceObject[] {
    const extensionObject =
      ref.kind === 'function' ||
      ref.kind === 'type' ||
      ref.kind === 'relation' ||
      (ref.kind === 'object' && ref.via?.startsWith('text search ') === true);
    if (object.key.kind === 'extension' || !extensionObject) return [];
    const project = this.projects.get(object.project);
    return this.schemasFor(object.project, ref).flatMap((s) =>
      (this.extensionsIn.get(s.toLowerCase()) ?? []).filter(
        (e) => e.project === object.project || (project?.dependsOn.includes(e.project) ?? false),
      ),
    );
  }
}
