import type { ResolvedEnvironment } from '../config/resolve';
import type { DbProject } from '../config/workspace';
import type { OperationContext } from '../context/operation-context';
import type { Engine } from '../engine/engine';
import { DbeeError } from '../errors';
import { formatKey } from '../model/object-key';
import { graphProject } from '../planner/project-model';
import type { Comment, Owner, Privilege, PrivilegeGrant, SchemaModel } from '../schema/model';
import { restrictModel, type ManagedScope, type SchemaScope } from '../schema/managed-scope';

/**
 * Comparing two environments (`diff --against-env`, `plan --against-env`, `clone`): no source names the grantees,
 * so both sides are read whole (every grantee, owners, comments; `manage.ignore` still applies) and
 * {@link compareEnvironments} decides what is compared and names what is not.
 */
export function environmentScope(scope: SchemaScope): SchemaScope {
  const ignore = scope.manage?.ignore ?? [];
  return { ...scope, manage: { grantees: null, owners: true, comments: true, ignore } };
}

/**
 * Comparing two environments reads both under one set of schema names. A project whose names come from variables
 * (`{{env}}_mart`) has other names on each: read so, the other side looks empty and the comparison would drop every
 * object of the target (measured: `diff --against-env` printed `DROP TABLE qa_mart.facts`, `DROP SCHEMA qa_mart` for
 * two environments deployed from the same sources, and `clone` planned the same). Refused, naming both, until names
 * can be mapped between the two sides.
 */
export function refuseOtherSchemaNames(
  ctx: OperationContext,
  engine: Engine,
  project: DbProject,
  here: { environment: ResolvedEnvironment; schemas: readonly string[] },
  there: ResolvedEnvironment,
): void {
  const { variables } = ctx.workspace.settings(project, there);
  const theirs = graphProject(project, variables, ctx.workspace.projects, engine.capabilities.keyNames).schemas;
  if ([...here.schemas].sort().join('\0') === [...theirs].sort().join('\0')) return;
  throw new DbeeError(
    `project ${project.name} has other schema names on ${there.name} (${theirs.join(', ')}) than on ${here.environment.name} (${here.schemas.join(', ')}): the two environments cannot be compared object by object; nothing was read or changed`,
    {
      code: 'OPTIONS_INVALID',
      location: project.file.locate(['schemas']),
      hint: `compare each environment with the sources instead (dbee diff ${project.name} --env ${here.environment.name}, and --env ${there.name}); to give ${here.environment.name} what ${there.name} has, deploy the same sources or package there`,
    },
  );
}

/**
 * Two environments compared: a schema the project's db.yaml names that neither side has is refused (exit 1, at its
 * line), never compared as empty on both sides ("no differences" whatever differs). The error names a schema of
 * either database whose name differs only in case (db.yaml's names are read as SQL reads them: `MySchema` is
 * `myschema`, and `'"MySchema"'` keeps its case).
 */
export function refuseSchemasOnNeither(
  project: DbProject,
  schemas: readonly string[],
  from: SchemaModel,
  to: SchemaModel,
  labels: { fromLabel: string; toLabel: string },
): void {
  const there = new Set([...from.schemas, ...to.schemas].map((s) => s.key.name));
  const near = [...new Set([...(from.nearSchemas ?? []), ...(to.nearSchemas ?? [])])];
  const missing = schemas.map((s, i) => ({ s, i })).filter(({ s }) => s !== 'dbee' && !there.has(s));
  if (!missing.length) return;
  const [first] = missing;
  const nearest = (s: string) => near.find((n) => n.toLowerCase() === s.toLowerCase());
  const meant = missing.map(({ s }) => nearest(s)).filter((n): n is string => n !== undefined);
  const quoted = (n: string) => `'"${n.replace(/"/g, '""')}"'`;
  throw new DbeeError(
    `schema ${missing.map(({ s }) => s).join(', ')} of project ${project.name} is on neither ${labels.fromLabel} nor ${labels.toLabel}: there is nothing to compare${meant.length ? ` (the nearest existing name: ${meant.join(', ')})` : ''}; nothing was changed`,
    {
      code: 'OPTIONS_INVALID',
      location: project.file.locate(
        project.config.schemas.length === schemas.length ? ['schemas', first!.i] : ['schemas'],
      ),
      hint: meant.length
        ? `db.yaml's schema names are read as SQL reads them (unquoted: lower case); to name ${meant[0]}, write it quoted: schemas: [${quoted(meant[0]!)}]`
        : 'name in db.yaml the schemas the project owns on both environments',
    },
  );
}

/** Two live models brought to what an env vs env comparison covers, and what it leaves out, named. */
export interface ComparedEnvironments {
  from: SchemaModel;
  to: SchemaModel;
  /** What differs between the two sides but is not compared, one line each (empty: nothing left out differs). */
  uncompared: string[];
}

/**
 * The env vs env rule. Grants: the privileges of every grantee that exists on both sides (and PUBLIC) are compared,
 * unless `manage.grants` is false; a grant to a role one side lacks cannot be granted there, nor is it the other
 * side's to revoke, so it is left out and named. Owners and comments follow `manage.owners` / `manage.comments`
 * (role names often differ between environments, so owners are off by default); what they leave out that differs is
 * named too, as are the `manage.ignore` patterns. `from` and `to` are the models read with {@link environmentScope}.
 */
export function compareEnvironments(
  manage: ManagedScope | undefined,
  from: SchemaModel,
  to: SchemaModel,
  sides: {
    /** Roles that exist on each side. */
    from: string[];
    to: string[];
    /** The environments' names, for what is left out. */
    fromLabel: string;
    toLabel: string;
    /** False with `manage: { grants: false }` (db.yaml). */
    grants: boolean;
  },
): ComparedEnvironments {
  const roles = sides;
  const grantsOn = sides.grants;
  const there = new Set(roles.to);
  const here = new Set(roles.from);
  const grantees = grantsOn ? ['PUBLIC', ...roles.from.filter((r) => there.has(r))] : [];
  const scope: ManagedScope = {
    grantees,
    owners: manage?.owners ?? false,
    comments: manage?.comments ?? true,
    ignore: manage?.ignore ?? [],
  };
  const uncompared: string[] = [];
  const compared = new Set(grantees);
  const differing = differingGrantees(from, to).filter((g) => !compared.has(g));
  if (!grantsOn && differing.length)
    uncompared.push(`grants (manage.grants is false): they differ for ${differing.join(', ')}`);
  else
    for (const g of differing) {
      const where = here.has(g)
        ? `only on ${roles.fromLabel}`
        : there.has(g)
          ? `only on ${roles.toLabel}`
          : 'on neither';
      uncompared.push(`grants to ${g}: the role exists ${where}`);
    }
  if (!scope.owners) {
    const objects = differingTargets(from.owners, to.owners, (o: Owner) => o.owner);
    if (objects.length) uncompared.push(`owners (manage.owners is false): they differ on ${list(objects)}`);
  }
  if (!scope.comments) {
    const objects = differingTargets(from.comments, to.comments, (c: Comment) => c.text);
    if (objects.length) uncompared.push(`comments (manage.comments is false): they differ on ${list(objects)}`);
  }
  uncompared.push(...differingSchemaDefaults(from, to, sides));
  if (scope.ignore.length)
    uncompared.push(
      `objects matching manage.ignore (${scope.ignore.length} pattern${scope.ignore.length === 1 ? '' : 's'})`,
    );
  return { from: restrictModel(from, scope), to: restrictModel(to, scope), uncompared };
}

/**
 * The schemas' default privileges (`ALTER DEFAULT PRIVILEGES`) that are not the same on both sides, one line each:
 * dbee neither plans nor compares them, and a comparison that left them out would say two databases are equal when
 * the next table created on one of them gets other privileges.
 */
function differingSchemaDefaults(
  from: SchemaModel,
  to: SchemaModel,
  labels: { fromLabel: string; toLabel: string },
): string[] {
  const text = (d: NonNullable<SchemaModel['schemaDefaults']>[number]) =>
    `FOR ROLE ${d.role}${d.schema ? ` IN SCHEMA ${d.schema}` : ' (in every schema)'} GRANT ${d.privileges.join(', ')} ON ${d.on.toUpperCase()} TO ${d.grantee}${d.grantable.length ? ` (grantable: ${d.grantable.join(', ')})` : ''}`;
  const a = new Set((from.schemaDefaults ?? []).map(text));
  const b = new Set((to.schemaDefaults ?? []).map(text));
  const only = (x: Set<string>, y: Set<string>, label: string) =>
    [...x].filter((t) => !y.has(t)).map((t) => `default privileges ${t}: only on ${label}`);
  const lines = [...only(a, b, labels.fromLabel), ...only(b, a, labels.toLabel)];
  return lines.length
    ? [
        `default privileges (ALTER DEFAULT PRIVILEGES; dbee does not manage them, set them by hand or in a migration): ${lines.join('; ')}`,
      ]
    : [];
}

/**
 * Objects of classes the model does not hold (`SchemaModel.unmodelled`: extended statistics, rules, aggregates...)
 * that are not the same on both sides, one line per class: never planned, so a comparison names them rather than say
 * the two sides are equal.
 */
export function differingUnmodelled(
  from: SchemaModel,
  to: SchemaModel,
  labels: { fromLabel: string; toLabel: string },
): string[] {
  const read = (m: SchemaModel) =>
    new Map((m.unmodelled ?? []).map((u) => [`${u.what}\n${u.schema}.${u.name}`, u.definition ?? '']));
  const [a, b] = [read(from), read(to)];
  const byClass = new Map<string, string[]>();
  for (const id of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(id) === b.get(id)) continue;
    const [what, name] = id.split('\n') as [string, string];
    const where = !b.has(id) ? `only on ${labels.fromLabel}` : !a.has(id) ? `only on ${labels.toLabel}` : 'they differ';
    byClass.set(what, [...(byClass.get(what) ?? []), `${name} (${where})`]);
  }
  return [...byClass].map(([what, names]) => `${what} (dbee does not manage them, docs/diffs.md): ${list(names)}`);
}

/** Grantees whose privileges (on objects or by default) are not the same on both sides, sorted. */
function differingGrantees(a: SchemaModel, b: SchemaModel): string[] {
  const byGrantee = (m: SchemaModel) => {
    const out = new Map<string, string[]>();
    const add = (grantee: string, line: string) => out.set(grantee, [...(out.get(grantee) ?? []), line]);
    for (const p of m.privileges as Privilege[])
      add(p.grantee, `${formatKey(p.target)}|${p.column ?? ''}|${p.privileges.join(',')}|${p.grantable.join(',')}`);
    for (const [kind, grants] of Object.entries(m.defaultPrivileges) as [string, PrivilegeGrant[]][])
      for (const g of grants) add(g.grantee, `default:${kind}|${[...g.privileges].sort().join(',')}`);
    return out;
  };
  const x = byGrantee(a);
  const y = byGrantee(b);
  const same = (g: string) => (x.get(g) ?? []).sort().join('\n') === (y.get(g) ?? []).sort().join('\n');
  return [...new Set([...x.keys(), ...y.keys()])].filter((g) => !same(g)).sort();
}

/** Objects (and columns, constraints) whose value differs between the two lists, as keys, sorted. */
function differingTargets<T extends { target: Owner['target']; column?: string; constraint?: string }>(
  a: T[],
  b: T[],
  value: (x: T) => string,
): string[] {
  const id = (x: T) =>
    `${formatKey(x.target)}${x.column ? `.${x.column}` : ''}${x.constraint ? `#${x.constraint}` : ''}`;
  const x = new Map(a.map((o) => [id(o), value(o)]));
  const y = new Map(b.map((o) => [id(o), value(o)]));
  return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).sort();
}

function list(items: string[]): string {
  return items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', ');
}
