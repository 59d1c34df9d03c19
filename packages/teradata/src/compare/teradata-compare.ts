import {
  type Connection,
  formatKey,
  type Hazard,
  type LiveComparison,
  type ObjectKey,
  type RenderedStep,
} from '@dbee/core';
import { sessionMode } from '../connection/teradata-connection';
import { attributesDiffer, liveAttributes, sourceAttributes } from '../catalog/authorization';
import { firstWord, planChange } from '../render/teradata-change';
import { captureDefinition } from '../catalog/teradata-deploy';
import { normalizeName } from '../parse/teradata-identifiers';
import { listChangedObjects, type ChangedObject } from '../introspect/teradata-introspector';
import { compareDefinitions } from '../render/teradata-normalize';
import { existingObjects } from '../introspect/teradata-objects';
import {
  definitionStatements,
  qualifiedName,
  REPLACEABLE_KINDS,
  renderDrop,
  toReplace,
} from '../render/teradata-renderer';

/**
 * `dbee diff --env` on Teradata (`Engine.compare`): each source object of the project against the live one, with
 * what the engine can read from the target (there is no shadow database to build a model in):
 *
 * - **missing on the target**: a `create` step (the source's statements; reverse: DROP);
 * - **table, join index, hash index**: `planChange`, as a deployment of a changed table file plans it: the CREATE
 *   TABLE against `SHOW TABLE` (ALTER TABLE steps), the table's COMMENT lines against `DBC.TablesV`/`ColumnsV`; what
 *   only a migration can change (a type, the primary index...) is `unplanned`. Its COLLECT STATISTICS and GRANT lines,
 *   which a deployment runs again, are not differences and are left out;
 * - **view, macro, procedure, function, trigger**: the source's text against `SHOW <kind>`, both normalised
 *   (`compareDefinitions`: case of keywords, spacing, comments, `CREATE`/`REPLACE`, qualification by the database);
 *   a difference is a `replace` step (REPLACE with the source's text; reverse: REPLACE with the live text);
 * - **on the target, in no source**: a `drop` step (reverse: the SHOW text), a table's with a `data-loss` hazard.
 *   dbee's own backups (`<name>_BKP_<time>`, `<name>_bak_<time>`) are not objects of the project and are left out;
 * - **another kind of object under the same name**: `unplanned`;
 * - **what `manage:` leaves alone** (db.yaml): objects its `ignore` globs match, on either side, and comments when it
 *   does not manage them.
 */
export const compareObjects: LiveComparison['compareObjects'] = async (
  conn,
  { objects: all, databases, stamp, manage },
) => {
  // What `manage.ignore` leaves alone is neither compared nor dropped: names match whatever their case, as Teradata
  // compares them in a Teradata-mode session.
  const patterns = (manage?.ignore ?? []).map((p) => new RegExp(p, 'i'));
  const ignored = (key: ObjectKey) => patterns.some((p) => p.test(`${key.kind}:${key.schema}.${key.name}`));
  const objects = all.filter((o) => !ignored(o.key));
  // The objects of the project's databases (one DBC.TablesV query; no time or user filter).
  const live = (await listChangedObjects(conn, { databases: databases.map(normalizeName) })).filter(
    (o) => !ignored(o.key),
  );
  const liveByName = new Map(live.map((o) => [nameOf(o.key), o]));
  const steps: RenderedStep[] = [];
  const unplanned: { key: string; reason: string }[] = [];
  const wanted = new Set<string>();
  const step = (key: ObjectKey, part: Omit<RenderedStep, 'key' | 'objectKey' | 'transactional'>): RenderedStep => ({
    key: formatKey(key),
    objectKey: key,
    transactional: true,
    ...part,
  });
  // Databases, users, roles and profiles are not in DBC.TablesV: looked up in their own views (one query each).
  const namespaces = objects.filter((o) => NAMESPACE_KINDS.has(o.key.kind));
  const existing = namespaces.length
    ? await existingObjects(
        conn,
        namespaces.map((o) => o.key),
      )
    : new Set<string>();
  for (const o of objects) {
    if (NAMESPACE_KINDS.has(o.key.kind)) {
      if (!existing.has(formatKey(o.key)))
        steps.push(
          step(o.key, { action: 'create', statements: o.statements, reverse: [renderDrop(o.key)], hazards: [] }),
        );
      else if (o.key.kind !== 'role') {
        // The safe subset of changes in place (space limits), as a deployment of the changed file plans it.
        const planned = await planChange(conn, { key: o.key, statements: o.statements, stamp });
        if ('migration' in planned)
          for (const reason of planned.migration) unplanned.push({ key: formatKey(o.key), reason });
        else steps.push(...planned.steps);
      }
      continue;
    }
    if (o.key.kind === 'type') {
      steps.push(...(await compareType(conn, o, unplanned, step)));
      continue;
    }
    if (o.key.kind === 'function-mapping') {
      steps.push(...(await compareMapping(conn, o, step)));
      continue;
    }
    const name = nameOf(o.key);
    wanted.add(name);
    if (o.key.kind === 'authorization' && liveByName.get(name)?.key.kind === 'authorization') {
      steps.push(...(await compareAuthorization(conn, o, step)));
      continue;
    }
    const there = liveByName.get(name);
    if (!there) {
      steps.push(
        step(o.key, { action: 'create', statements: o.statements, reverse: [renderDrop(o.key)], hazards: [] }),
      );
      continue;
    }
    if (there.key.kind !== o.key.kind) {
      unplanned.push({
        key: formatKey(o.key),
        reason: `the target has a ${there.key.kind} of that name, not a ${o.key.kind}`,
      });
      continue;
    }
    if (REPLACEABLE_KINDS.has(o.key.kind)) {
      const source = o.statements[0];
      const current = await captureDefinition(conn, o.key);
      if (!source || !current) continue;
      const currentCreate = definitionStatements(current)[0] ?? current;
      if (
        compareDefinitions(source, currentCreate, {
          defaultDatabase: normalizeName(o.key.schema),
          tmode: sessionMode(conn),
        }).equal
      )
        continue;
      steps.push(
        step(o.key, {
          action: 'replace',
          statements: [toReplace(source)],
          reverse: [toReplace(currentCreate)],
          hazards: [],
        }),
      );
      continue;
    }
    const planned = await planChange(conn, { key: o.key, statements: o.statements, stamp });
    if ('migration' in planned) {
      for (const reason of planned.migration) unplanned.push({ key: formatKey(o.key), reason });
      continue;
    }
    // Comments are compared only where they are managed (`manage.comments`, default true).
    const compared = (sql: string) => rerunOnly(sql) || (manage?.comments === false && firstWord(sql) === 'COMMENT');
    steps.push(...planned.steps.filter((s) => !s.statements.every(compared)));
  }
  // What the target has and no source defines: standing objects first (they stand on tables), tables last.
  const extra = live
    .filter((o) => !wanted.has(nameOf(o.key)) && o.key.kind !== 'other' && !isBackup(o))
    .sort((a, b) => dropRank(a) - dropRank(b));
  for (const o of extra) {
    const current = await captureDefinition(conn, o.key);
    const hazards: Hazard[] =
      o.key.kind === 'table'
        ? [{ kind: 'data-loss', message: `drops table ${qualifiedName(o.key)} and its rows (no source defines it)` }]
        : [];
    steps.push(
      step(o.key, {
        action: 'drop',
        statements: [renderDrop(o.key)],
        reverse: current ? definitionStatements(current) : null,
        hazards,
      }),
    );
  }
  return { steps, unplanned };
};

/**
 * A user-defined type of the sources against the target's (in SYSUDTLIB, which the project's databases listing does
 * not cover): missing, a `create` step; its `SHOW TYPE` text equal to the source's (normalised as views are), nothing;
 * different, `unplanned`: ALTER TYPE only adds or drops attributes and methods, and DROP TYPE is refused while a
 * column or routine uses the type, so a changed type is a migration. Types the sources do not define are never
 * dropped: SYSUDTLIB is shared by every database.
 */
async function compareType(
  conn: Connection,
  o: { key: ObjectKey; statements: string[] },
  unplanned: { key: string; reason: string }[],
  step: (key: ObjectKey, part: Omit<RenderedStep, 'key' | 'objectKey' | 'transactional'>) => RenderedStep,
): Promise<RenderedStep[]> {
  const source = o.statements[0];
  const current = (await existingObjects(conn, [o.key])).size ? await captureDefinition(conn, o.key) : null;
  if (!current)
    return [step(o.key, { action: 'create', statements: o.statements, reverse: [renderDrop(o.key)], hazards: [] })];
  const options = { defaultDatabase: normalizeName(o.key.schema), tmode: sessionMode(conn) };
  if (source && !compareDefinitions(source, current, options).equal)
    unplanned.push({
      key: formatKey(o.key),
      reason: `type ${qualifiedName(o.key)} differs from its SHOW TYPE text; Teradata cannot change a type in place (DROP TYPE is refused while a column uses it): write a migration`,
    });
  return [];
}

/**
 * An authorization of the sources against the target's (`DBC.AuthorizationsV`): DEFINER or INVOKER, DEFAULT, DOMAIN
 * and USER. Its password cannot be read back, so it is never compared: a changed password alone is no difference
 * (REPLACE AUTHORIZATION by hand, or change the source and the variable together with another attribute). A
 * difference is a `replace` step (REPLACE AUTHORIZATION with the source's placeholder) with no reverse: the old
 * password cannot be put back.
 */
async function compareAuthorization(
  conn: Connection,
  o: { key: ObjectKey; statements: string[] },
  step: (key: ObjectKey, part: Omit<RenderedStep, 'key' | 'objectKey' | 'transactional'>) => RenderedStep,
): Promise<RenderedStep[]> {
  const source = o.statements[0] ? sourceAttributes(o.statements[0]) : null;
  const live = await liveAttributes(conn, o.key);
  if (!source || !live || !attributesDiffer(source, live).length) return [];
  return [
    step(o.key, {
      action: 'replace',
      statements: o.statements.map((s, i) => (i === 0 ? toReplace(s) : s)),
      reverse: null,
      hazards: [],
    }),
  ];
}

/**
 * A function mapping of the sources against the target's `SHOW FUNCTION MAPPING` text (normalised as a view's):
 * missing, a `create` step; different, a `replace` step (REPLACE FUNCTION MAPPING; reverse: the live text as
 * REPLACE). Mappings no source defines are not listed: their TableKind in DBC.TablesV is not documented in the pages
 * read (verify), so dbee neither reports nor drops them.
 */
async function compareMapping(
  conn: Connection,
  o: { key: ObjectKey; statements: string[] },
  step: (key: ObjectKey, part: Omit<RenderedStep, 'key' | 'objectKey' | 'transactional'>) => RenderedStep,
): Promise<RenderedStep[]> {
  const source = o.statements[0];
  const current = await captureDefinition(conn, o.key);
  if (!current)
    return [step(o.key, { action: 'create', statements: o.statements, reverse: [renderDrop(o.key)], hazards: [] })];
  const currentCreate = definitionStatements(current)[0] ?? current;
  const options = { defaultDatabase: normalizeName(o.key.schema), tmode: sessionMode(conn) };
  if (!source || compareDefinitions(source, currentCreate, options).equal) return [];
  return [
    step(o.key, {
      action: 'replace',
      statements: [toReplace(source), ...o.statements.slice(1)],
      reverse: [toReplace(currentCreate)],
      hazards: [],
    }),
  ];
}

/** Kinds that live outside DBC.TablesV (a name of the system, no database). */
const NAMESPACE_KINDS = new Set(['database', 'user', 'role', 'profile']);

/** `DB.NAME`, upper case: names are unique in a database whatever their case or kind. */
function nameOf(key: ObjectKey): string {
  return `${normalizeName(key.schema)}.${normalizeName(key.name)}`;
}

/** A statement a deployment runs again on a changed table without it being a difference (statistics, grants). */
function rerunOnly(sql: string): boolean {
  return ['COLLECT', 'GRANT', 'REVOKE'].includes(firstWord(sql));
}

/** dbee's backups: `<name>_BKP_<yyyymmdd>T<hhmmss>` (runner) and `<name>_bak_<yyyymmdd>t<hhmmss>` (BTEQ script). */
function isBackup(o: ChangedObject): boolean {
  return /_(BKP|BAK)_\d{8}T\d{6}$/i.test(o.key.name);
}

function dropRank(o: ChangedObject): number {
  const kind = o.key.kind;
  if (kind === 'trigger' || kind === 'join-index' || kind === 'hash-index') return 0;
  return kind === 'table' ? 2 : 1;
}
