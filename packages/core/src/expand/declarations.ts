import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { YamlFile } from '../config/yaml-file';
import type { ErrorLocation } from '../errors';
import type { SourceObject } from '../planner/objects';

/** The `up`/`down` expressions of one column, as declared in a table's `.expand.yaml`. */
export interface ColumnDeclaration {
  up?: string;
  down?: string;
  location: ErrorLocation;
}

/** One `<table>.expand.yaml`. */
export interface TableDeclaration {
  /** Workspace-relative path. */
  file: string;
  location: ErrorLocation;
  columns: Record<string, ColumnDeclaration>;
}

const expression = z.string().trim().min(1, 'write an SQL expression');
const fileSchema = z.strictObject({
  columns: z.record(z.string(), z.strictObject({ up: expression.optional(), down: expression.optional() })),
});

/** The expand declarations of a project: the `<table>.expand.yaml` file beside each table's source file. */
export class ExpandDeclarations {
  private constructor(
    private readonly byTable: Map<string, TableDeclaration>,
    private readonly paths: Map<string, string>,
  ) {}

  /** Read the declaration files beside the table files of `objects` (workspace-relative paths under `root`). */
  static read(root: string, objects: readonly SourceObject[]): ExpandDeclarations {
    const byTable = new Map<string, TableDeclaration>();
    const paths = new Map<string, string>();
    for (const o of objects) {
      if (o.key.kind !== 'table') continue;
      const file = declarationPath(o.location.file);
      const id = `${o.key.schema}.${o.key.name}`;
      paths.set(id, file);
      if (!existsSync(join(root, file))) continue;
      const yaml = YamlFile.read(join(root, file), file);
      const value = yaml.validate(fileSchema);
      byTable.set(id, {
        file,
        location: { file, line: 1 },
        columns: Object.fromEntries(
          Object.entries(value.columns).map(([name, c]) => [name, { ...c, location: yaml.locate(['columns', name]) }]),
        ),
      });
    }
    return new ExpandDeclarations(byTable, paths);
  }

  /** Declarations given as data (a release package carries them; tests). */
  static of(tables: Record<string, { file: string; columns: Record<string, { up?: string; down?: string }> }>) {
    const byTable = new Map<string, TableDeclaration>();
    for (const [id, t] of Object.entries(tables))
      byTable.set(id, {
        file: t.file,
        location: { file: t.file },
        columns: Object.fromEntries(
          Object.entries(t.columns).map(([n, c]) => [n, { ...c, location: { file: t.file } }]),
        ),
      });
    return new ExpandDeclarations(byTable, new Map(Object.entries(tables).map(([id, t]) => [id, t.file])));
  }

  table(schema: string, name: string): TableDeclaration | undefined {
    return this.byTable.get(`${schema}.${name}`);
  }

  /** Where the declaration of a table goes (for hints). */
  pathFor(schema: string, name: string): string {
    return (
      this.paths.get(`${schema}.${name}`) ?? `<the table file of ${schema}.${name}, .sql replaced by .expand.yaml>`
    );
  }

  /** As data, for a release package. */
  toJSON(): Record<string, { file: string; columns: Record<string, { up?: string; down?: string }> }> {
    return Object.fromEntries(
      [...this.byTable].map(([id, t]) => [
        id,
        {
          file: t.file,
          columns: Object.fromEntries(
            Object.entries(t.columns).map(([n, c]) => [
              n,
              { ...(c.up ? { up: c.up } : {}), ...(c.down ? { down: c.down } : {}) },
            ]),
          ),
        },
      ]),
    );
  }
}

/** `sales/tables/orders.sql` → `sales/tables/orders.expand.yaml`. */
export function declarationPath(tableFile: string): string {
  return tableFile.replace(/\.sql$/i, '') + '.expand.yaml';
}
