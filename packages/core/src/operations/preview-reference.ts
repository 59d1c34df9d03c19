import { projectSettings, type ResolvedEnvironment } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import { requireRole, type Engine } from '../engine/engine';
import type { Connection } from '../engine/connection';
import { DbeeError } from '../errors';
import { withSession } from '../runner/session';
import { expandText } from '../sources/placeholders';

/** dbee.yaml's `preview.referenceRows` when it is not written. */
export const REFERENCE_ROWS_DEFAULT = 10_000;

/** One table of a project's `referenceData`, its name as the base's environment gives it. */
interface ReferenceTable {
  project: string;
  schema: string;
  name: string;
  index: number;
}

/**
 * The reference tables of `projects` (db.yaml `referenceData`), their `{{placeholders}}` expanded with the base's
 * variables (a preview has the base's names).
 */
export function referenceTables(
  ctx: OperationContext,
  projects: readonly string[],
  base: ResolvedEnvironment,
): ReferenceTable[] {
  return projects.flatMap((name) => {
    const project = ctx.workspace.project(name);
    const { variables } = projectSettings(project.config, base);
    return (project.config.referenceData ?? []).map((text, index) => {
      const where = `${project.relativeRoot}/db.yaml referenceData`;
      const [schema, table] = expandText(text, variables, where).split('.') as [string, string];
      return { project: name, schema, name: table, index };
    });
  });
}

/**
 * Refuses (exit 1, at the entry's line of db.yaml) a reference table that the preview's structure, cloned from the
 * base, does not have: a misspelt name, before any row is read. Names the nearest table of that schema.
 */
async function refuseUnknown(
  ctx: OperationContext,
  engine: Engine,
  conn: Connection,
  tables: readonly ReferenceTable[],
): Promise<void> {
  const diff = requireRole(engine, 'diff', 'copy reference data into a preview');
  const read = diff.introspectRelations?.bind(diff) ?? diff.introspect.bind(diff);
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const tablesOf = async (names?: string[]) =>
    (await read(conn, { schemas, ...(names ? { names } : {}) })).tables.map((t) => `${t.key.schema}.${t.key.name}`);
  // The named tables only; the schemas whole just to suggest a name for one that is not there.
  const found = await tablesOf(tables.map((t) => `${t.schema}.${t.name}`));
  const missing = tables.find((t) => !found.includes(`${t.schema}.${t.name}`));
  if (!missing) return;
  const { nearestName } = await import('../policies/settings');
  const near = nearestName(`${missing.schema}.${missing.name}`, await tablesOf());
  throw new DbeeError(`referenceData: there is no table ${missing.schema}.${missing.name} in the preview's structure`, {
    code: 'CONFIG_INVALID',
    location: ctx.workspace.project(missing.project).file.locate(['referenceData', missing.index]),
    hint: `${near ? `did you mean ${near}? ` : ''}name a table of the project's schemas (schema.name); the new preview was dropped`,
  });
}

/**
 * A new preview's reference data: the rows of each reference table read on the base and loaded into the preview,
 * with the rows they reference through the preview's foreign keys, in one transaction (the rollback test's copy,
 * `DiffRole.copySample`: triggers do not fire, keys are checked once at the end, sequences follow the base). A table
 * with more than `preview.referenceRows` rows is refused, naming it (the caller drops the new preview). Returns the
 * rows copied per table (`schema.name`), referenced tables included.
 */
export async function copyReferenceData(
  ctx: OperationContext,
  input: { engine: Engine; base: ResolvedEnvironment; preview: ResolvedEnvironment; bound: number | undefined },
  tables: readonly ReferenceTable[],
): Promise<Record<string, number>> {
  const copy = input.engine.diff?.copySample;
  const first = tables[0]!;
  const locate = (t: ReferenceTable) => ctx.workspace.project(t.project).file.locate(['referenceData', t.index]);
  if (!copy)
    throw new DbeeError(`referenceData: the ${input.engine.name} engine cannot copy rows into a preview`, {
      code: 'OPTIONS_INVALID',
      location: locate(first),
      hint: 'fill the preview with preview.seed files instead; nothing was changed',
    });
  const bound = input.bound ?? REFERENCE_ROWS_DEFAULT;
  const session = (environment: ResolvedEnvironment) => ({
    engine: input.engine,
    environment,
    workspaceRoot: ctx.workspace.root,
    reporter: ctx.reporter,
    deploy: input.base.deploy,
  });
  // The base is only read: no deployment lock where the engine's readers need none (as `check`).
  const copied = await withSession({ ...session(input.base), reader: true }, ({ conn: from }) =>
    withSession(session(input.preview), async ({ conn: to }) => {
      await refuseUnknown(ctx, input.engine, to, tables);
      return copy(
        from,
        to,
        tables.map((t) => ({ schema: t.schema, name: t.name, limit: bound + 1 })),
        'preview',
      );
    }),
  );
  // All of a table's rows are read when it has at most `bound` of them (the rows other tables reference are among
  // them): more than `bound` copied means the table has more.
  const over = tables.find((t) => (copied.get(`${t.schema}.${t.name}`) ?? 0) > bound);
  if (over)
    throw new DbeeError(
      `referenceData: ${over.schema}.${over.name} has more rows on ${input.base.name} than preview.referenceRows takes (${bound})`,
      {
        code: 'PREVIEW_REFERENCE_DATA',
        location: locate(over),
        hint: 'reference data is lookup data: fill a big table with a preview.seed file, or raise preview.referenceRows; the new preview was dropped',
      },
    );
  return Object.fromEntries(copied);
}
