import type { ObjectKey } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { compareVersions, parseType, sameData } from '@dbee/core/schema';
import type {
  Attrs,
  ChangeKind,
  ChangeOf,
  Change,
  Column,
  CompositeAttribute,
  Constraint,
  DomainCheck,
  Index,
  Privilege,
  Routine,
  Sequence,
  TextSearchConfiguration,
  TextSearchDictionary,
  TextSearchMapping,
  Trigger,
  TypeDef,
  TypeMove,
  View,
} from '@dbee/core/schema';
import { ident, literal, qualified } from './quote';
import { dropStatement } from './drop-statement';
import { postgresFacts } from '../introspect/postgres-facts';

export interface RenderOptions {
  /**
   * Prefer statements that do not block writes: indexes (and the indexes of new primary keys and unique
   * constraints on existing tables) are built `CONCURRENTLY`, which cannot run in a transaction. Default false.
   */
  online?: boolean;
}

/**
 * The SQL of one change.
 *
 * `reverse` undoes the change using only what the change carries (a dropped view's reverse is its old CREATE
 * VIEW, an altered default's reverse sets the old default). It is `null` when statements alone cannot undo it:
 * the change destroys data (drop table, drop column, drop sequence and its current value) or PostgreSQL has no
 * inverse (an enum value cannot be removed, an extension rarely has a downgrade script). Reverse statements of a
 * step run in the order given.
 */
export interface RenderedChange {
  statements: string[];
  reverse: string[] | null;
  /** False when the statements must run outside a transaction block (`CONCURRENTLY`, enum values). */
  transactional: boolean;
}

type Renderer<K extends ChangeKind> = (change: ChangeOf<K>, options: RenderOptions) => RenderedChange;

const done = (statements: string[], reverse: string[] | null, transactional = true): RenderedChange => ({
  statements,
  reverse,
  transactional,
});

const key = (k: ObjectKey) => qualified(k.schema, k.name);
const routineRef = (k: ObjectKey) => `${key(k)}(${(k.args ?? []).join(', ')})`;
const routineWord = (k: ObjectKey) =>
  k.kind === 'procedure' ? 'PROCEDURE' : k.kind === 'aggregate' ? 'AGGREGATE' : 'FUNCTION';
const viewWord = (k: ObjectKey) => (k.kind === 'materialized-view' ? 'MATERIALIZED VIEW' : 'VIEW');
const alterTable = (table: ObjectKey) =>
  `ALTER ${table.kind === 'materialized-view' ? 'MATERIALIZED VIEW' : 'TABLE'} ${key(table)}`;
const column = (table: ObjectKey, name: string) => `${alterTable(table)} ALTER COLUMN ${ident(name)}`;
/** pg_get_viewdef ends with a semicolon; statements are joined by the runner, so drop it. */
const body = (definition: string) => definition.trim().replace(/;\s*$/, '');

/** One renderer per change kind: the compiler checks that none is missing. */
const RENDERERS: { [K in ChangeKind]: Renderer<K> } = {
  'create-schema': (c) =>
    done([`CREATE SCHEMA ${ident(c.schema.key.name)}`], [`DROP SCHEMA ${ident(c.schema.key.name)}`]),
  'drop-schema': (c) =>
    done([`DROP SCHEMA ${ident(c.schema.key.name)}`], [`CREATE SCHEMA ${ident(c.schema.key.name)}`]),
  'create-extension': (c) =>
    done([createExtension(c.extension.key, c.extension.version)], [`DROP EXTENSION ${ident(c.extension.key.name)}`]),
  'drop-extension': (c) =>
    done([`DROP EXTENSION ${ident(c.extension.key.name)}`], [createExtension(c.extension.key, c.extension.version)]),
  'alter-extension-version': (c) => {
    if (compareVersions(c.to.version, c.from.version) < 0) {
      throw new DbeeError(
        `cannot take extension ${c.to.key.name} back from version ${c.from.version} to ${c.to.version}: PostgreSQL updates extensions only forward, and objects use it`,
        {
          code: 'RENDER_UNSUPPORTED',
          hint: `keep version ${c.from.version} in the sources, or write a migration that drops what uses the extension, runs DROP EXTENSION ${c.to.key.name} and CREATE EXTENSION ${c.to.key.name} VERSION '${c.to.version}', and creates those objects again`,
          details: { extension: c.to.key.name, from: c.from.version, to: c.to.version },
        },
      );
    }
    return done([`ALTER EXTENSION ${ident(c.to.key.name)} UPDATE TO ${literal(c.to.version)}`], null);
  },

  'create-collation': (c) => done([createCollation(c.collation)], [`DROP COLLATION ${key(c.collation.key)}`]),
  'drop-collation': (c) => done([`DROP COLLATION ${key(c.collation.key)}`], [createCollation(c.collation)]),
  'alter-collation': (c) => {
    throw new DbeeError(
      `cannot change collation ${c.to.key.schema}.${c.to.key.name} in place: PostgreSQL cannot alter a collation's definition, and columns, indexes or views use it`,
      {
        code: 'RENDER_UNSUPPORTED',
        hint: `create the new definition under another name and move the columns to it (ALTER TABLE ... ALTER COLUMN ... TYPE ... COLLATE ...), or write a migration that does so and then drops and re-creates ${c.to.key.name}`,
        details: { collation: `${c.to.key.schema}.${c.to.key.name}` },
      },
    );
  },
  'create-text-search-dictionary': (c) =>
    done([createDictionary(c.dictionary)], [`DROP TEXT SEARCH DICTIONARY ${key(c.dictionary.key)}`]),
  'drop-text-search-dictionary': (c) =>
    done([`DROP TEXT SEARCH DICTIONARY ${key(c.dictionary.key)}`], [createDictionary(c.dictionary)]),
  'alter-text-search-dictionary': (c) => done([alterDictionary(c.from, c.to)], [alterDictionary(c.to, c.from)]),
  'create-text-search-configuration': (c) =>
    done(createConfiguration(c.configuration), [`DROP TEXT SEARCH CONFIGURATION ${key(c.configuration.key)}`]),
  'drop-text-search-configuration': (c) =>
    done([`DROP TEXT SEARCH CONFIGURATION ${key(c.configuration.key)}`], createConfiguration(c.configuration)),
  'alter-text-search-configuration': (c) =>
    done(
      alterMappings(c.to.key, c.from.mappings, c.to.mappings),
      alterMappings(c.to.key, c.to.mappings, c.from.mappings),
    ),
  'create-table': (c) =>
    done(
      [
        ...createTable(c.table),
        ...tableOptions(c.table.key, {}, securityOf(c.table.attrs)),
        ...c.table.columns.flatMap((col) => columnSettingsSql(c.table.key, NO_SETTINGS, col)),
      ],
      [`DROP TABLE ${key(c.table.key)}`],
    ),
  'drop-table': (c) =>
    c.aside ? done(setTableAside(c.table.key, c.aside), null) : done([`DROP TABLE ${key(c.table.key)}`], null),
  'copy-rows': (c) => done([copyRows(c.from, c.table), `DROP TABLE ${key(c.from)}`], null),
  'alter-table-options': (c) => {
    const forward = tableOptions(c.table, c.from, c.to);
    return done(forward, tableOptions(c.table, c.to, c.from));
  },
  'rename-table': (c) =>
    done(
      [`ALTER TABLE ${qualified(c.table.schema, c.from)} RENAME TO ${ident(c.to)}`],
      [`ALTER TABLE ${qualified(c.table.schema, c.to)} RENAME TO ${ident(c.from)}`],
    ),
  // `ALTER VIEW|MATERIALIZED VIEW|FUNCTION|PROCEDURE <old> RENAME TO <new>`: the DROP statement's object reference.
  'rename-object': (c) => {
    const rename = (from: string, to: string) =>
      `${dropStatement({ ...c.object, name: from })!.replace(/^DROP /, 'ALTER ')} RENAME TO ${ident(to)}`;
    return done([rename(c.from, c.to)], [rename(c.to, c.from)]);
  },
  'add-column': (c) =>
    done(
      [
        `${alterTable(c.table)} ADD COLUMN ${columnDefinition(c.column)}`,
        ...columnSettingsSql(c.table, NO_SETTINGS, c.column),
      ],
      [`${alterTable(c.table)} DROP COLUMN ${ident(c.column.name)}`],
    ),
  // A generated column's values are its expression's over the row: added back as it was, it holds them all again.
  // Any other column's values are gone with it (deploy.keepDroppedColumns keeps them in a backup table).
  'drop-column': (c) =>
    done(
      [`${alterTable(c.table)} DROP COLUMN ${ident(c.column.name)}`],
      c.column.generated === null
        ? null
        : [
            `${alterTable(c.table)} ADD COLUMN ${columnDefinition(c.column)}`,
            ...columnSettingsSql(c.table, NO_SETTINGS, c.column),
          ],
    ),
  'rename-column': (c) =>
    done(
      [`${alterTable(c.table)} RENAME COLUMN ${ident(c.from)} TO ${ident(c.to)}`],
      [`${alterTable(c.table)} RENAME COLUMN ${ident(c.to)} TO ${ident(c.from)}`],
    ),
  'alter-column-type': (c) => done([alterType(c.table, c.from, c.to)], [alterType(c.table, c.to, c.from)]),
  'alter-column-default': (c) => {
    // Becoming a serial again (from an identity): the new sequence goes on from the identity's saved position.
    const restore = c.carry ? restoreFromHolder(c.carry.holder, serialSequenceOf(c.to)) : [];
    const drop = c.carry ? [`DROP SEQUENCE IF EXISTS ${key(c.carry.holder)}`] : [];
    return done(
      [setDefault(c.table, c.column, c.to), ...restore, ...carryOver(c.table, c.column, c.from, c.to), ...drop],
      [setDefault(c.table, c.column, c.from)],
    );
  },
  'alter-column-nullability': (c) =>
    done([setNotNull(c.table, c.column, c.to)], [setNotNull(c.table, c.column, c.from)]),
  'alter-column-settings': (c) =>
    done(columnSettingsSql(c.table, c.from, c.to), columnSettingsSql(c.table, c.to, c.from)),
  'alter-column-identity': (c) => {
    const identity = setIdentity(c.table, c.column, c.from, c.to, c.options);
    const back = setIdentity(c.table, c.column, c.to, c.from, c.options && { from: c.options.to, to: c.options.from });
    const own = `pg_get_serial_sequence(${literal(key(c.table))}, ${literal(c.column)})`;
    if (c.carry && c.to === null) return dropIdentityKeeping(c.table, c.column, c.from!, c.carry.holder);
    if (c.carry && c.from === null) {
      // Serial -> identity: the identity goes on from the old sequence, kept under the holder's name until now.
      const holder = key(c.carry.holder);
      return done(
        [
          identity,
          ...restoreFromHolder(c.carry.holder, own),
          continueAfterRows(c.table, c.column, null),
          `DROP SEQUENCE ${holder}`,
        ],
        [
          back,
          `CREATE SEQUENCE ${holder} OWNED BY ${key(c.table)}.${ident(c.column)}`,
          continueAfterRows(c.table, c.column, literal(holder)),
        ],
      );
    }
    const narrows = (a: Column, b: Column) => a.identity !== null && identityRangeNarrows(a, b);
    const after = (narrowed: boolean | undefined) =>
      c.from === null || narrowed ? [continueAfterRows(c.table, c.column, null)] : [];
    return done(
      [identity, ...after(c.options && narrows(c.options.from, c.options.to))],
      [
        back,
        ...(c.options && narrows(c.options.to, c.options.from) ? [continueAfterRows(c.table, c.column, null)] : []),
      ],
    );
  },

  'add-constraint': (c, o) => addConstraint(c.table, c.constraint, o),
  'drop-constraint': (c) =>
    done(
      [`${alterTable(c.table)} DROP CONSTRAINT ${ident(c.constraint.name)}`],
      [`${alterTable(c.table)} ADD CONSTRAINT ${ident(c.constraint.name)} ${c.constraint.definition}`],
    ),

  // PostgreSQL alters a foreign key's deferrability in place (9.4+): the rows are not checked again.
  'alter-constraint': (c) => done([alterConstraint(c.table, c.to)], [alterConstraint(c.table, c.from)]),

  'create-index': (c, o) => {
    const online = Boolean(o.online) && c.index.attrs['partitioned'] !== true;
    return done([createIndex(c.index, online), ...attachIndexes(c.index)], [dropIndex(c.index, online)], !online);
  },
  'drop-index': (c, o) => {
    const online = Boolean(o.online) && c.index.attrs['partitioned'] !== true;
    return done([dropIndex(c.index, online)], [createIndex(c.index, online), ...attachIndexes(c.index)], !online);
  },
  // The new storage parameters apply to the pages written from now on: the index is not rebuilt.
  'alter-index-options': (c) =>
    done(
      indexOptions(`ALTER INDEX ${key(c.to.key)}`, reloptions(c.from.attrs), reloptions(c.to.attrs)),
      indexOptions(`ALTER INDEX ${key(c.to.key)}`, reloptions(c.to.attrs), reloptions(c.from.attrs)),
    ),

  'create-view': (c) => done([createView(c.view, false)], [`DROP ${viewWord(c.view.key)} ${key(c.view.key)}`]),
  'replace-view': (c) => done([createView(c.to, true)], [createView(c.from, true)]),
  'drop-view': (c) => done([`DROP ${viewWord(c.view.key)} ${key(c.view.key)}`], [createView(c.view, false)]),

  'create-routine': (c) => done([routineDefinition(c.routine)], [dropRoutine(c.routine.key)]),
  'replace-routine': (c) => done([routineDefinition(c.to)], [routineDefinition(c.from)]),
  'drop-routine': (c) => done([dropRoutine(c.routine.key)], [routineDefinition(c.routine)]),

  'create-trigger': (c) => done(createTrigger(c.trigger, false), [dropTrigger(c.trigger)]),
  'replace-trigger': (c) => done(createTrigger(c.to, true, c.from), createTrigger(c.from, true, c.to)),
  'drop-trigger': (c) => done([dropTrigger(c.trigger)], createTrigger(c.trigger, false)),

  'create-sequence': (c) => done([createSequence(c.sequence)], [`DROP SEQUENCE ${key(c.sequence.key)}`]),
  'alter-sequence': (c) => done([alterSequence(c.from, c.to)], [alterSequence(c.to, c.from)]),
  'drop-sequence': (c) =>
    c.identity && c.carry
      ? dropIdentityKeeping(c.identity.table, c.identity.column, c.identity.from, c.carry.holder)
      : c.carry
        ? // Disowned first: pg_get_serial_sequence must find the identity's sequence, not this one.
          done(
            [
              `ALTER SEQUENCE ${key(c.sequence.key)} OWNED BY NONE`,
              `ALTER SEQUENCE ${key(c.sequence.key)} RENAME TO ${ident(c.carry.holder.name)}`,
            ],
            [
              `ALTER SEQUENCE ${key(c.carry.holder)} RENAME TO ${ident(c.sequence.key.name)}`,
              ...(c.sequence.ownedBy
                ? [
                    `ALTER SEQUENCE ${key(c.sequence.key)} OWNED BY ${key(c.sequence.ownedBy.table)}.${ident(c.sequence.ownedBy.column)}`,
                  ]
                : []),
            ],
          )
        : done([`DROP SEQUENCE ${key(c.sequence.key)}`], null),

  'create-type': (c) =>
    c.moves?.length
      ? done([createType(c.type), ...moveColumns(c.type.key, c.moves)], null)
      : done([createType(c.type)], [`DROP TYPE ${key(c.type.key)}`]),
  'drop-type': (c) =>
    c.moves?.length
      ? done(
          [`ALTER TYPE ${key(c.type.key)} RENAME TO ${ident(asideName(c.type.key))}`],
          [`ALTER TYPE ${qualified(c.type.key.schema, asideName(c.type.key))} RENAME TO ${ident(c.type.key.name)}`],
        )
      : done([`DROP TYPE ${key(c.type.key)}`], [createType(c.type)]),
  // The new value cannot be used before the transaction that added it commits: run it on its own.
  'alter-enum-add-value': (c) => {
    const where =
      c.before !== undefined
        ? ` BEFORE ${literal(c.before)}`
        : c.after !== undefined
          ? ` AFTER ${literal(c.after)}`
          : '';
    return done([`ALTER TYPE ${key(c.type)} ADD VALUE ${literal(c.value)}${where}`], null, false);
  },
  'alter-composite-attributes': (c) => done([alterAttributes(c.from, c.to)], [alterAttributes(c.to, c.from)]),

  'create-domain': (c) => done([createType(c.domain)], [`DROP DOMAIN ${key(c.domain.key)}`]),
  'drop-domain': (c) => done([`DROP DOMAIN ${key(c.domain.key)}`], [createType(c.domain)]),
  'alter-domain-default': (c) => done([domainDefault(c.domain, c.to)], [domainDefault(c.domain, c.from)]),
  'alter-domain-nullability': (c) =>
    done(
      [`ALTER DOMAIN ${key(c.domain)} ${c.to ? 'SET' : 'DROP'} NOT NULL`],
      [`ALTER DOMAIN ${key(c.domain)} ${c.from ? 'SET' : 'DROP'} NOT NULL`],
    ),
  'add-domain-constraint': (c) =>
    done(addDomainCheck(c.domain, c.constraint, true), [dropDomainCheck(c.domain, c.constraint)]),
  'drop-domain-constraint': (c) =>
    done([dropDomainCheck(c.domain, c.constraint)], addDomainCheck(c.domain, c.constraint, false)),

  'set-comment': (c) => done([comment(c, c.to)], [comment(c, c.from)]),
  grant: (c) => done(grant(c.privilege), revoke(c.privilege)),
  revoke: (c) => done(revoke(c.privilege), grant(c.privilege)),
  'set-owner': (c) => done([setOwner(c.target, c.to)], c.from ? [setOwner(c.target, c.from)] : null),
};

/** Statements, reverse statements and transactionality of one change. */
export function renderChange(change: Change, options: RenderOptions = {}): RenderedChange {
  const render = RENDERERS[change.kind] as Renderer<ChangeKind>;
  return render(change as ChangeOf<ChangeKind>, options);
}

function createCollation(c: ChangeOf<'create-collation'>['collation']): string {
  const options = [`provider = ${c.provider}`];
  if (c.provider === 'libc') {
    if (c.lcCollate !== null) options.push(`lc_collate = ${literal(c.lcCollate)}`);
    if (c.lcCtype !== null) options.push(`lc_ctype = ${literal(c.lcCtype)}`);
  } else if (c.locale !== null) {
    options.push(`locale = ${literal(c.locale)}`);
  }
  if (!c.deterministic) options.push('deterministic = false');
  if (c.rules !== null) options.push(`rules = ${literal(c.rules)}`);
  return `CREATE COLLATION ${key(c.key)} (${options.join(', ')})`;
}

function createDictionary(d: TextSearchDictionary): string {
  const options = d.options === null ? '' : `, ${d.options}`;
  return `CREATE TEXT SEARCH DICTIONARY ${key(d.key)} (TEMPLATE = ${d.template}${options})`;
}

/**
 * `ALTER TEXT SEARCH DICTIONARY` from `from`'s options to `to`'s: the options `to` has are set, those only `from` has
 * are named without a value, which removes them.
 */
function alterDictionary(from: TextSearchDictionary, to: TextSearchDictionary): string {
  const kept = new Set(dictionaryOptionNames(to.options));
  const removed = dictionaryOptionNames(from.options).filter((n) => !kept.has(n));
  const options = [...(to.options === null ? [] : [to.options]), ...removed];
  return `ALTER TEXT SEARCH DICTIONARY ${key(to.key)} (${options.join(', ')})`;
}

/** The option names of a dictionary's options as the catalog prints them (`language = 'english', "Stop" = 'x'`). */
export function dictionaryOptionNames(options: string | null): string[] {
  if (options === null) return [];
  const names: string[] = [];
  // Each option is `name = value`; a quoted value may hold commas and `=`, a quoted name doubled quotes.
  const re = /\s*("(?:[^"]|"")*"|[^\s=]+)\s*=\s*(?:E?'(?:[^']|'')*'|[^,]*)\s*(?:,|$)/gy;
  for (let m = re.exec(options); m && m[0] !== ''; m = re.exec(options)) names.push(m[1]!);
  return names;
}

/** A configuration from nothing: its parser, then one ADD MAPPING per list of dictionaries, tokens in parser order. */
function createConfiguration(c: TextSearchConfiguration): string[] {
  return [
    `CREATE TEXT SEARCH CONFIGURATION ${key(c.key)} (PARSER = ${c.parser})`,
    ...alterMappings(c.key, [], c.mappings),
  ];
}

/**
 * The `ALTER TEXT SEARCH CONFIGURATION` statements from mappings `from` to `to`: tokens that lose their mapping are
 * dropped, new ones added, changed ones altered; tokens sharing the same dictionaries share one statement.
 */
function alterMappings(k: ObjectKey, from: TextSearchMapping[], to: TextSearchMapping[]): string[] {
  const before = new Map(from.map((m) => [m.token, m.dictionaries.join(', ')]));
  const after = new Set(to.map((m) => m.token));
  const groups = new Map<string, { verb: string; with: string; tokens: string[] }>();
  const add = (verb: string, dictionaries: string, token: string) => {
    const id = `${verb} ${dictionaries}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { verb, with: dictionaries, tokens: [] }));
    g.tokens.push(ident(token));
  };
  for (const m of from) if (!after.has(m.token)) add('DROP', '', m.token);
  for (const m of to) {
    const dictionaries = m.dictionaries.join(', ');
    const old = before.get(m.token);
    if (old === undefined) add('ADD', dictionaries, m.token);
    else if (old !== dictionaries) add('ALTER', dictionaries, m.token);
  }
  return [...groups.values()].map(
    (g) =>
      `ALTER TEXT SEARCH CONFIGURATION ${key(k)} ${g.verb} MAPPING FOR ${g.tokens.join(', ')}${g.verb === 'DROP' ? '' : ` WITH ${g.with}`}`,
  );
}

function createExtension(k: ObjectKey, version: string): string {
  return `CREATE EXTENSION ${ident(k.name)} WITH SCHEMA ${ident(k.schema)} VERSION ${literal(version)}`;
}

export function columnDefinition(c: Column): string {
  const parts = [ident(c.name), c.type];
  if (c.collation) parts.push(`COLLATE ${c.collation}`);
  if (c.generated !== null)
    parts.push(`GENERATED ALWAYS AS (${c.generated}) ${c.attrs['generatedKind'] === 'virtual' ? 'VIRTUAL' : 'STORED'}`);
  if (c.identity)
    parts.push(`GENERATED ${c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${identityOptions(c)}`);
  if (c.default !== null) parts.push(`DEFAULT ${c.default}`);
  if (c.notNull) parts.push('NOT NULL');
  return parts.join(' ');
}

/**
 * A partition's own constraints are added after it is created, as a partition created and then given a primary key
 * gets them: inside `CREATE TABLE ... PARTITION OF` a primary key names the NOT NULL constraint of a column the
 * parent already makes NOT NULL after the partition (PostgreSQL 18), where the later `ADD` keeps the parent's.
 */
function createTable(t: ChangeOf<'create-table'>['table']): string[] {
  const unlogged = t.attrs['persistence'] === 'unlogged' ? 'UNLOGGED ' : '';
  const items = [
    ...t.columns.map(columnDefinition),
    ...t.constraints.map((c) => `CONSTRAINT ${ident(c.name)} ${c.definition}`),
  ];
  const partitionOf = typeof t.attrs['partitionOf'] === 'string' ? t.attrs['partitionOf'] : null;
  let sql: string;
  if (partitionOf) {
    const [schema, name] = splitQualified(partitionOf);
    sql = `CREATE ${unlogged}TABLE ${key(t.key)} PARTITION OF ${qualified(schema, name)} ${String(t.attrs['partitionBound'])}`;
  } else {
    sql = `CREATE ${unlogged}TABLE ${key(t.key)} (\n  ${items.join(',\n  ')}\n)`;
  }
  const inherits = Array.isArray(t.attrs['inherits']) ? (t.attrs['inherits'] as string[]) : [];
  if (inherits.length && !partitionOf)
    sql += ` INHERITS (${inherits.map((p) => qualified(...splitQualified(p))).join(', ')})`;
  if (typeof t.attrs['partitionBy'] === 'string') sql += ` PARTITION BY ${t.attrs['partitionBy']}`;
  const options = reloptions(t.attrs);
  if (options.length) sql += ` WITH (${options.join(', ')})`;
  if (!partitionOf) return [sql];
  return [
    sql,
    ...t.constraints.map((c) => `ALTER TABLE ${key(t.key)} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`),
  ];
}

/**
 * Rename a table that is re-created for a partitioning change out of the way of the new one: the table, its
 * indexes (constraint indexes too: index names are unique in a schema) and its identity sequences.
 */
function setTableAside(table: ObjectKey, aside: string): string[] {
  const moved = literal(qualified(table.schema, aside));
  const schema = literal(ident(table.schema));
  return [
    `ALTER TABLE ${key(table)} RENAME TO ${ident(aside)}`,
    `DO $dbee$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ${moved}::regclass LOOP
    EXECUTE format('ALTER INDEX %s.%I RENAME TO %I', ${schema}, r.relname, left(r.relname, 50) || '__dbee_old');
  END LOOP;
  FOR r IN SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
            WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ${moved}::regclass AND d.deptype = 'i' AND s.relkind = 'S' LOOP
    EXECUTE format('ALTER SEQUENCE %s.%I RENAME TO %I', ${schema}, r.relname, left(r.relname, 50) || '__dbee_old');
  END LOOP;
  -- Checks and (PostgreSQL 18) NOT NULL constraints: unnamed ones are named uniquely in the schema.
  FOR r IN SELECT conname FROM pg_constraint
            WHERE conrelid = ${moved}::regclass AND contype IN ('c', 'n') AND conislocal AND coninhcount = 0 LOOP
    EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', ${moved}, r.conname, left(r.conname, 50) || '__dbee_old');
  END LOOP;
END
$dbee$`,
  ];
}

/**
 * Copy the rows of an old table (renamed aside) into its re-created version: the columns both have, and only the
 * rows that fit a partition of the new table (a WARNING counts the others, which are dropped with the old table).
 * Serial sequences the old table owned move to the new one where its column's default still draws from them (a table
 * that becomes a partition takes its parent's default: the old sequence goes with the old table); identity columns go
 * on from the old position.
 */
function copyRows(from: ObjectKey, to: ObjectKey): string {
  const old = literal(key(from));
  const next = literal(key(to));
  return `DO $dbee$
DECLARE
  cols text;
  fit text;
  open_leaf boolean;
  only_ text;
  lost bigint;
  r record;
BEGIN
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_attribute a
    JOIN pg_attribute b ON b.attrelid = ${old}::regclass AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped
   WHERE a.attrelid = ${next}::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
  fit := 'true';
  IF (SELECT relkind FROM pg_class WHERE oid = ${next}::regclass) = 'p' THEN
    SELECT string_agg('(' || pg_get_partition_constraintdef(t.relid) || ')', ' OR '), coalesce(bool_or(pg_get_partition_constraintdef(t.relid) IS NULL), false)
      INTO fit, open_leaf
      FROM pg_partition_tree(${next}::regclass) t WHERE t.isleaf;
    IF open_leaf THEN fit := 'true'; END IF;
    fit := coalesce(fit, 'false');
  END IF;
  only_ := CASE WHEN (SELECT relkind FROM pg_class WHERE oid = ${old}::regclass) = 'p' THEN '' ELSE 'ONLY ' END;
  IF cols IS NOT NULL THEN
    EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s%s WHERE coalesce((%s), false)', ${next}, cols, cols, only_, ${old}, fit);
  END IF;
  EXECUTE format('SELECT count(*) FROM %s%s WHERE NOT coalesce((%s), false)', only_, ${old}, fit) INTO lost;
  IF lost > 0 THEN
    RAISE WARNING 'dbee: % rows of % fit no partition of the new table and are dropped with the old one', lost, ${next};
  END IF;
  FOR r IN SELECT d.objid::regclass AS seq, a.attname FROM pg_depend d
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             JOIN pg_attribute n ON n.attrelid = ${next}::regclass AND n.attname = a.attname AND NOT n.attisdropped
            WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ${old}::regclass AND d.deptype = 'a'
              AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S'
              AND EXISTS (SELECT 1 FROM pg_attrdef ad JOIN pg_depend dd ON dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                           WHERE ad.adrelid = ${next}::regclass AND ad.adnum = n.attnum AND dd.refobjid = d.objid) LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNED BY %s.%I', r.seq, ${next}, r.attname);
  END LOOP;
  FOR r IN SELECT a.attname, pg_get_serial_sequence(${next}, a.attname) AS seq,
                  CASE WHEN EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = ${old}::regclass AND o.attname = a.attname AND o.attnum > 0
                                       AND NOT o.attisdropped) THEN pg_get_serial_sequence(${old}, a.attname) END AS before
             FROM pg_attribute a WHERE a.attrelid = ${next}::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
    IF r.seq IS NOT NULL THEN
      IF r.before IS NOT NULL AND r.before <> r.seq AND pg_sequence_last_value(r.before::regclass) IS NOT NULL THEN
        PERFORM setval(r.seq, pg_sequence_last_value(r.before::regclass));
      END IF;
      EXECUTE format('SELECT setval(%L, m) FROM (SELECT max(%I) AS m FROM %s) x WHERE m >= coalesce(pg_sequence_last_value(%L::regclass) + 1, 1)', r.seq, r.attname, ${next}, r.seq);
    END IF;
  END LOOP;
END
$dbee$`;
}

/** A row-level security policy as introspection records it in a table's `attrs.policies`. */
interface PolicyAttr {
  name: string;
  /** `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`. */
  command: string;
  permissive: boolean;
  /** Role names as SQL identifiers, or `public`. */
  roles: string[];
  using: string | null;
  check: string | null;
}

function policiesOf(attrs: Attrs): Map<string, PolicyAttr> {
  const list = Array.isArray(attrs['policies']) ? (attrs['policies'] as PolicyAttr[]) : [];
  return new Map(list.map((p) => [p.name, p]));
}

/** Only the row-level security part of a table's attrs: what a created table still needs after CREATE TABLE. */
/**
 * What CREATE TABLE does not say and ALTER TABLE sets right after it: row security, policies, a partition's own NOT NULL
 * columns, and a replica identity FULL or NOTHING (USING INDEX comes after the index, as its own alter-table-options change).
 */
function securityOf(attrs: Attrs): Attrs {
  const out: Attrs = {};
  for (const k of ['rowSecurity', 'forceRowSecurity', 'policies']) if (attrs[k] !== undefined) out[k] = attrs[k];
  if (attrs['replicaIdentity'] === 'full' || attrs['replicaIdentity'] === 'nothing')
    out['replicaIdentity'] = attrs['replicaIdentity'];
  if (attrs['partitionNotNull'] !== undefined) out['partitionNotNull'] = attrs['partitionNotNull'];
  return out;
}

/** `FULL`, `NOTHING`, `USING INDEX name` or `DEFAULT`, from a table's `attrs.replicaIdentity`. */
function replicaIdentity(attrs: Attrs): string {
  const r = attrs['replicaIdentity'];
  if (r === 'full') return 'FULL';
  if (r === 'nothing') return 'NOTHING';
  if (typeof r === 'string' && r.startsWith('index:')) return `USING INDEX ${ident(r.slice('index:'.length))}`;
  return 'DEFAULT';
}

function createPolicy(table: ObjectKey, p: PolicyAttr): string {
  let sql = `CREATE POLICY ${ident(p.name)} ON ${key(table)} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${p.command}`;
  if (p.roles.length) sql += ` TO ${p.roles.join(', ')}`;
  if (p.using !== null) sql += ` USING (${p.using})`;
  if (p.check !== null) sql += ` WITH CHECK (${p.check})`;
  return sql;
}

function splitQualified(text: string): [string, string] {
  const dot = text.indexOf('.');
  return [text.slice(0, dot), text.slice(dot + 1)];
}

function reloptions(attrs: Attrs): string[] {
  return Array.isArray(attrs['reloptions']) ? (attrs['reloptions'] as string[]) : [];
}

function tableOptions(table: ObjectKey, from: Attrs, to: Attrs): string[] {
  for (const attr of ['partitionBy', 'partitionOf', 'partitionBound']) {
    if (!sameData(from[attr], to[attr])) {
      throw new DbeeError(`cannot change the partitioning of ${table.schema}.${table.name} in place`, {
        code: 'RENDER_UNSUPPORTED',
        hint: 'write a migration that creates the new table, moves the rows and swaps the names',
        details: { table: `${table.schema}.${table.name}`, attribute: attr },
      });
    }
  }
  const out: string[] = [];
  const parents = (a: Attrs) => (Array.isArray(a['inherits']) ? (a['inherits'] as string[]) : []);
  for (const p of parents(from))
    if (!parents(to).includes(p)) out.push(`${alterTable(table)} NO INHERIT ${qualified(...splitQualified(p))}`);
  for (const p of parents(to))
    if (!parents(from).includes(p)) out.push(`${alterTable(table)} INHERIT ${qualified(...splitQualified(p))}`);
  const before = policiesOf(from);
  const after = policiesOf(to);
  for (const [name, p] of before)
    if (!sameData(p, after.get(name))) out.push(`DROP POLICY ${ident(name)} ON ${key(table)}`);
  if (Boolean(from['rowSecurity']) !== Boolean(to['rowSecurity']))
    out.push(`${alterTable(table)} ${to['rowSecurity'] ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY`);
  if (Boolean(from['forceRowSecurity']) !== Boolean(to['forceRowSecurity']))
    out.push(`${alterTable(table)} ${to['forceRowSecurity'] ? '' : 'NO '}FORCE ROW LEVEL SECURITY`);
  for (const [name, p] of after) if (!sameData(p, before.get(name))) out.push(createPolicy(table, p));
  const notNull = (a: Attrs) => (Array.isArray(a['partitionNotNull']) ? (a['partitionNotNull'] as string[]) : []);
  for (const c of notNull(from))
    if (!notNull(to).includes(c)) out.push(`${alterTable(table)} ALTER COLUMN ${ident(c)} DROP NOT NULL`);
  for (const c of notNull(to))
    if (!notNull(from).includes(c)) out.push(`${alterTable(table)} ALTER COLUMN ${ident(c)} SET NOT NULL`);
  if ((from['clusterOn'] ?? null) !== (to['clusterOn'] ?? null))
    out.push(
      typeof to['clusterOn'] === 'string'
        ? `${alterTable(table)} CLUSTER ON ${ident(to['clusterOn'])}`
        : `${alterTable(table)} SET WITHOUT CLUSTER`,
    );
  if ((from['replicaIdentity'] ?? null) !== (to['replicaIdentity'] ?? null))
    out.push(`${alterTable(table)} REPLICA IDENTITY ${replicaIdentity(to)}`);
  if (from['persistence'] !== to['persistence'])
    out.push(`${alterTable(table)} SET ${to['persistence'] === 'unlogged' ? 'UNLOGGED' : 'LOGGED'}`);
  out.push(...setOptions(alterTable(table), reloptions(from), reloptions(to)));
  return out;
}

/**
 * `<alter> SET (...)` for the storage parameters `to` adds or changes, `<alter> RESET (...)` for those it takes off
 * (each `name=value`, as `reloptions` holds them); nothing when they are the same.
 */
function setOptions(alter: string, from: string[], to: string[]): string[] {
  const name = (o: string) => o.slice(0, o.indexOf('='));
  const before = new Map(from.map((o) => [name(o), o]));
  const after = new Map(to.map((o) => [name(o), o]));
  const set = [...after].filter(([k, v]) => before.get(k) !== v).map(([, v]) => v);
  const reset = [...before.keys()].filter((k) => !after.has(k));
  return [
    ...(set.length ? [`${alter} SET (${set.join(', ')})`] : []),
    ...(reset.length ? [`${alter} RESET (${reset.join(', ')})`] : []),
  ];
}

/**
 * `setOptions` for an index, whose definition prints its parameters in the catalog's order: PostgreSQL keeps the
 * parameters SET does not name where they were and puts those it names last, in its order. When that is not the order
 * of `to`, every parameter is RESET and `to` SET whole, in its order.
 */
function indexOptions(alter: string, from: string[], to: string[]): string[] {
  const name = (o: string) => o.slice(0, o.indexOf('='));
  const statements = setOptions(alter, from, to);
  const named = new Set(to.filter((o) => !from.includes(o)).map(name));
  const kept = from.filter((o) => to.includes(o) && !named.has(name(o)));
  const reached = [...kept, ...to.filter((o) => named.has(name(o)))];
  if (sameData(reached, to)) return statements;
  return [`${alter} RESET (${from.map(name).join(', ')})`, `${alter} SET (${to.join(', ')})`];
}

/** `ALTER CONSTRAINT` to the deferrability of `c` (a foreign key: the only kind PostgreSQL alters). */
function alterConstraint(table: ObjectKey, c: Constraint): string {
  const timing = !c.deferrable
    ? 'NOT DEFERRABLE'
    : `DEFERRABLE INITIALLY ${c.initiallyDeferred ? 'DEFERRED' : 'IMMEDIATE'}`;
  return `${alterTable(table)} ALTER CONSTRAINT ${ident(c.name)} ${timing}`;
}

/** A column with no settings: what `columnSettingsSql` starts from for a column just created. */
const NO_SETTINGS = { attrs: {} } as Pick<Column, 'attrs'>;

/** `storage` of a column's attrs as PostgreSQL's SET STORAGE spells it. */
const STORAGE = new Set(['plain', 'external', 'extended', 'main']);
/** `compression` of a column's attrs as SET COMPRESSION spells it. */
const COMPRESSION = new Set(['pglz', 'lz4']);

/**
 * ALTER COLUMN statements that take column `to.name` from the settings of `from` to those of `to` (`Column.attrs`:
 * `statistics`, `options`, `compression`, `storage`; absent is PostgreSQL's default). A storage put back to the type's
 * own is looked up in the catalog (SET STORAGE DEFAULT exists only from PostgreSQL 16).
 */
export function columnSettingsSql(table: ObjectKey, from: Pick<Column, 'attrs'>, to: Column): string[] {
  const out: string[] = [];
  const col = column(table, to.name);
  const a = from.attrs;
  const b = to.attrs;
  if ((a['statistics'] ?? null) !== (b['statistics'] ?? null))
    out.push(`${col} SET STATISTICS ${typeof b['statistics'] === 'number' ? b['statistics'] : -1}`);
  const options = (x: Attrs) =>
    new Map((Array.isArray(x['options']) ? (x['options'] as string[]) : []).map((o) => [o.split('=')[0]!, o]));
  const [before, after] = [options(a), options(b)];
  const set = [...after].filter(([k, v]) => before.get(k) !== v).map(([, v]) => v);
  const reset = [...before.keys()].filter((k) => !after.has(k));
  if (set.length) out.push(`${col} SET (${set.join(', ')})`);
  if (reset.length) out.push(`${col} RESET (${reset.join(', ')})`);
  if ((a['compression'] ?? null) !== (b['compression'] ?? null)) {
    const c = b['compression'];
    out.push(`${col} SET COMPRESSION ${typeof c === 'string' && COMPRESSION.has(c) ? c : 'default'}`);
  }
  if ((a['storage'] ?? null) !== (b['storage'] ?? null)) {
    const s = b['storage'];
    if (typeof s === 'string' && STORAGE.has(s)) out.push(`${col} SET STORAGE ${s.toUpperCase()}`);
    else out.push(defaultStorage(table, to.name));
  }
  return out;
}

/** SET STORAGE back to the column type's own storage, read from the catalog where the statement runs. */
function defaultStorage(table: ObjectKey, name: string): string {
  return `DO $dbee$
BEGIN
  EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', ${literal(key(table))}, ${literal(name)},
    (SELECT CASE t.typstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = ${literal(key(table))}::regclass AND a.attname = ${literal(name)}));
END
$dbee$`;
}

/** Built-in type families with no cast between them (PostgreSQL's `pg_cast`): numbers, booleans, dates and times. */
const CAST_FAMILY: Record<string, string> = {
  smallint: 'number',
  integer: 'number',
  bigint: 'number',
  numeric: 'number',
  real: 'number',
  'double precision': 'number',
  boolean: 'boolean',
  date: 'time',
  timestamp: 'time',
  timestamptz: 'time',
  time: 'time',
  timetz: 'time',
  interval: 'time',
};

/** No direct cast from `a` to `b`: a user type (enum, domain...), or two built-in families PostgreSQL does not cast between. */
function noDirectCast(a: string, b: string): boolean {
  if (b.includes('.')) return true;
  const [x, y] = [CAST_FAMILY[a], CAST_FAMILY[b]];
  // integer <-> boolean is the one cast between those families.
  if ((a === 'integer' && b === 'boolean') || (a === 'boolean' && b === 'integer')) return false;
  return x !== undefined && y !== undefined && x !== y;
}

/** `USING col::type` when the base type changes (a cast is needed); a length change alone needs none. */
function alterType(table: ObjectKey, from: Column, to: Column): string {
  const a = parseType(from.type, postgresFacts.typeAliases);
  const b = parseType(to.type, postgresFacts.typeAliases);
  const collate = to.collation ? ` COLLATE ${to.collation}` : from.collation ? ' COLLATE pg_catalog."default"' : '';
  // Where there is no cast (`bigint` to `timestamp`, text to an enum), every type reads its own text form.
  const viaText = noDirectCast(a.base, b.base) ? `::text${b.array ? '[]' : ''}` : '';
  const using = a.base !== b.base || a.array !== b.array ? ` USING ${ident(to.name)}${viaText}::${to.type}` : '';
  return `${column(table, to.name)} TYPE ${to.type}${collate}${using}`;
}

function setDefault(table: ObjectKey, name: string, expr: string | null): string {
  return expr === null ? `${column(table, name)} DROP DEFAULT` : `${column(table, name)} SET DEFAULT ${expr}`;
}

/**
 * A column that starts taking its values from a sequence (serial, identity) on a table that has rows goes on after
 * the largest value it holds, so the next INSERT does not meet a duplicate key.
 */
function continueAfterRows(table: ObjectKey, name: string, sequence: string | null): string {
  const seq = `${sequence ?? `pg_get_serial_sequence(${literal(key(table))}, ${literal(name)})`}::regclass`;
  // Only forward: a sequence that already went past the rows (numbers handed out, rows deleted) keeps its position.
  return `SELECT setval(${seq}, max(${ident(name)})) FROM ${key(table)} HAVING max(${ident(name)}) >= coalesce(pg_sequence_last_value(${seq}) + 1, 1)`;
}

/** Identity -> serial: keep the identity's position in a holder before DROP IDENTITY drops its sequence. */
function dropIdentityKeeping(
  table: ObjectKey,
  column: string,
  from: NonNullable<Column['identity']>,
  holderKey: ObjectKey,
): RenderedChange {
  const holder = key(holderKey);
  const own = `pg_get_serial_sequence(${literal(key(table))}, ${literal(column)})`;
  return done(
    [
      `CREATE SEQUENCE ${holder} AS bigint MINVALUE -9223372036854775808`,
      `SELECT setval(${literal(holder)}, v) FROM (SELECT pg_sequence_last_value(${own}::regclass) AS v) p WHERE v IS NOT NULL`,
      setIdentity(table, column, from, null),
    ],
    [
      `DROP SEQUENCE IF EXISTS ${holder}`,
      setIdentity(table, column, null, from),
      continueAfterRows(table, column, null),
    ],
  );
}

/** Set `sequence` (an SQL expression naming it) to the position kept in `holder`, when the holder was ever used. */
function restoreFromHolder(holder: ObjectKey, sequence: string | null): string[] {
  if (sequence === null) return [];
  return [`SELECT setval(${sequence}::regclass, last_value) FROM ${key(holder)} WHERE is_called`];
}

/** The sequence literal of a `nextval('s.seq'::regclass)` default, e.g. `'s.seq'`; null for another default. */
function serialSequenceOf(expr: string | null): string | null {
  const m = expr === null ? null : /^nextval\(('(?:[^']|'')+')::regclass\)$/.exec(expr);
  return m ? m[1]! : null;
}

function carryOver(table: ObjectKey, name: string, from: string | null, to: string | null): string[] {
  const next = serialSequenceOf(to);
  return next && from !== to ? [continueAfterRows(table, name, next)] : [];
}

function setNotNull(table: ObjectKey, name: string, notNull: boolean): string {
  return `${column(table, name)} ${notNull ? 'SET' : 'DROP'} NOT NULL`;
}

/** ` (START WITH 3 INCREMENT BY 4 ...)`: an identity column's sequence options as introspected; empty when unknown. */
function identityOptions(c: Pick<Column, 'attrs'>): string {
  const options = c.attrs['identityOptions'];
  return typeof options === 'string' && options ? ` (${options})` : '';
}

/** `SET START WITH 3 SET INCREMENT BY 4 ...`: the identity options of `to` set on an existing identity column. */
function setIdentityOptions(to: Pick<Column, 'attrs'>): string {
  const options = typeof to.attrs['identityOptions'] === 'string' ? (to.attrs['identityOptions'] as string) : '';
  return [
    ...options.matchAll(/START WITH -?\d+|INCREMENT BY -?\d+|MINVALUE -?\d+|MAXVALUE -?\d+|CACHE \d+|NO CYCLE|CYCLE/g),
  ]
    .map((m) => `SET ${m[0]}`)
    .join(' ');
}

/** The identity's MINVALUE rises or its MAXVALUE falls from `from` to `to`. */
function identityRangeNarrows(from: Pick<Column, 'attrs'>, to: Pick<Column, 'attrs'>): boolean {
  const bound = (c: Pick<Column, 'attrs'>, word: string) => {
    const m = new RegExp(`${word} (-?\\d+)`).exec(
      typeof c.attrs['identityOptions'] === 'string' ? c.attrs['identityOptions'] : '',
    );
    return m ? BigInt(m[1]!) : null;
  };
  const [fMin, tMin, fMax, tMax] = [
    bound(from, 'MINVALUE'),
    bound(to, 'MINVALUE'),
    bound(from, 'MAXVALUE'),
    bound(to, 'MAXVALUE'),
  ];
  return fMin === null || tMin === null || fMax === null || tMax === null || tMin > fMin || tMax < fMax;
}

function setIdentity(
  table: ObjectKey,
  name: string,
  from: Column['identity'],
  to: Column['identity'],
  options?: { from: Column; to: Column },
): string {
  const words = (k: NonNullable<Column['identity']>) => (k === 'always' ? 'ALWAYS' : 'BY DEFAULT');
  if (to === null) return `${column(table, name)} DROP IDENTITY`;
  if (from === null)
    return `${column(table, name)} ADD GENERATED ${words(to)} AS IDENTITY${options ? identityOptions(options.to) : ''}`;
  // A narrower range may leave the sequence's position outside it (PostgreSQL refuses that): it restarts at START,
  // and the renderer then moves it past the rows (continueAfterRows).
  const set = options
    ? `${setIdentityOptions(options.to)}${identityRangeNarrows(options.from, options.to) ? ' RESTART' : ''}`
    : '';
  return `${column(table, name)} ${[from !== to ? `SET GENERATED ${words(to)}` : '', set].filter(Boolean).join(' ')}`;
}

/**
 * Foreign keys and checks are added NOT VALID, then validated in a second statement that does not block writes;
 * one the desired side holds NOT VALID (`attrs.notValid`) stays so. On a partitioned table (which PostgreSQL refuses
 * NOT VALID) or referencing one, they are added valid at once. With `online`, a simple primary key or unique
 * constraint first gets its index built concurrently.
 */
function addConstraint(table: ObjectKey, c: Constraint, o: RenderOptions): RenderedChange {
  const add = `${alterTable(table)} ADD CONSTRAINT ${ident(c.name)}`;
  const reverse = [`${alterTable(table)} DROP CONSTRAINT ${ident(c.name)}`];
  if (c.attrs['notValid'] === true) return done([`${add} ${c.definition} NOT VALID`], reverse);
  const apart = c.attrs['referencesPartitioned'] !== true && c.attrs['onPartitioned'] !== true;
  if ((c.kind === 'foreign-key' || c.kind === 'check') && apart) {
    return done(
      [`${add} ${c.definition} NOT VALID`, `${alterTable(table)} VALIDATE CONSTRAINT ${ident(c.name)}`],
      reverse,
    );
  }
  const simple = /^(PRIMARY KEY|UNIQUE) \(([^()]*)\)( DEFERRABLE.*)?$/.exec(c.definition);
  if (o.online && simple) {
    const unique = `CREATE UNIQUE INDEX CONCURRENTLY ${ident(c.name)} ON ${key(table)} (${simple[2]})`;
    return done([unique, `${add} ${simple[1]} USING INDEX ${ident(c.name)}${simple[3] ?? ''}`], reverse, false);
  }
  return done([`${add} ${c.definition}`], reverse);
}

function createIndex(i: Index, online: boolean): string {
  // pg_get_indexdef prints a partitioned table's index `ON ONLY`, which would leave its partitions without one;
  // unless it is incomplete (made ON ONLY on purpose, some partitions' indexes attached by hand: `attachIndexes`).
  const definition =
    i.attrs['partitioned'] === true && i.attrs['incomplete'] !== true
      ? i.definition.replace(/ ON ONLY /, ' ON ')
      : i.definition;
  return online ? definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY ') : definition;
}

/** An incomplete partitioned index attaches the partitions' indexes it lists (created before it). */
function attachIndexes(i: Index): string[] {
  if (i.attrs['incomplete'] !== true) return [];
  const attached = (i.attrs['attached'] as string[] | undefined) ?? [];
  return attached.map((name) => {
    const dot = name.indexOf('.');
    return `ALTER INDEX ${key(i.key)} ATTACH PARTITION ${ident(name.slice(0, dot))}.${ident(name.slice(dot + 1))}`;
  });
}

function dropIndex(i: Index, online: boolean): string {
  // An index attached to a partitioned index is dropped with it (and cannot be dropped alone): it may be gone.
  const ifExists = typeof i.attrs['attachedTo'] === 'string' ? 'IF EXISTS ' : '';
  return `DROP INDEX ${online ? 'CONCURRENTLY ' : ''}${ifExists}${key(i.key)}`;
}

function createView(v: View, replace: boolean): string {
  const options = reloptions(v.attrs);
  const withOptions = options.length ? ` WITH (${options.join(', ')})` : '';
  return `CREATE ${replace ? 'OR REPLACE ' : ''}${viewWord(v.key)} ${key(v.key)}${withOptions} AS\n${body(v.definition)}`;
}

/** pg_get_functiondef already writes `CREATE OR REPLACE ...`, schema-qualified. */
function routineDefinition(r: Routine): string {
  return r.definition.trimEnd();
}

function dropRoutine(k: ObjectKey): string {
  return `DROP ${routineWord(k)} ${routineRef(k)}`;
}

/** CREATE [OR REPLACE] TRIGGER, then its enabled state when it is not the default. */
function createTrigger(t: Trigger, replace: boolean, previous?: Trigger): string[] {
  const sql = replace ? t.definition.replace(/^CREATE TRIGGER /, 'CREATE OR REPLACE TRIGGER ') : t.definition;
  const out = [sql];
  const state = (t.attrs['enabled'] as string | undefined) ?? 'O';
  const before = (previous?.attrs['enabled'] as string | undefined) ?? 'O';
  if (state !== 'O' || (previous && before !== state)) {
    const word = { O: 'ENABLE', D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' }[state] ?? 'ENABLE';
    out.push(`${alterTable(t.table)} ${word} TRIGGER ${ident(t.key.name)}`);
  }
  return out;
}

function dropTrigger(t: Trigger): string {
  return `DROP TRIGGER ${ident(t.key.name)} ON ${key(t.table)}`;
}

function createSequence(s: Sequence): string {
  const owned = s.ownedBy ? ` OWNED BY ${key(s.ownedBy.table)}.${ident(s.ownedBy.column)}` : '';
  return (
    `CREATE SEQUENCE ${key(s.key)} AS ${s.dataType} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max}` +
    ` START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ' NO CYCLE'}${owned}`
  );
}

function alterSequence(from: Sequence, to: Sequence): string {
  const parts: string[] = [];
  if (from.dataType !== to.dataType) parts.push(`AS ${to.dataType}`);
  if (from.increment !== to.increment) parts.push(`INCREMENT BY ${to.increment}`);
  if (from.min !== to.min || from.dataType !== to.dataType) parts.push(`MINVALUE ${to.min}`);
  if (from.max !== to.max || from.dataType !== to.dataType) parts.push(`MAXVALUE ${to.max}`);
  if (from.start !== to.start) parts.push(`START WITH ${to.start}`);
  if (from.cache !== to.cache) parts.push(`CACHE ${to.cache}`);
  if (from.cycle !== to.cycle) parts.push(to.cycle ? 'CYCLE' : 'NO CYCLE');
  if (!sameData(from.ownedBy, to.ownedBy))
    parts.push(to.ownedBy ? `OWNED BY ${key(to.ownedBy.table)}.${ident(to.ownedBy.column)}` : 'OWNED BY NONE');
  return `ALTER SEQUENCE ${key(to.key)} ${parts.join(' ')}`;
}

function attribute(a: CompositeAttribute): string {
  return `${ident(a.name)} ${a.type}${a.collation ? ` COLLATE ${a.collation}` : ''}`;
}

/** Name a type created again is renamed to while its columns move to the new one. */
function asideName(k: ObjectKey): string {
  return `${k.name.slice(0, 50)}__dbee_old`;
}

/** Columns move from the renamed-aside type to the new one through text; then the old type goes. */
function moveColumns(type: ObjectKey, moves: TypeMove[]): string[] {
  const out: string[] = [];
  for (const m of moves) {
    if (m.fromDefault !== null) out.push(setDefault(m.table, m.column, null));
    const array = parseType(m.type, postgresFacts.typeAliases).array;
    out.push(
      `${column(m.table, m.column)} TYPE ${m.type} USING ${ident(m.column)}::text${array ? '[]' : ''}::${m.type}`,
    );
    if (m.default !== null) out.push(setDefault(m.table, m.column, m.default));
  }
  out.push(`DROP TYPE ${qualified(type.schema, asideName(type))}`);
  return out;
}

function createType(t: TypeDef): string {
  switch (t.variant) {
    case 'enum':
      return `CREATE TYPE ${key(t.key)} AS ENUM (${t.values.map(literal).join(', ')})`;
    case 'composite':
      return `CREATE TYPE ${key(t.key)} AS (${t.attributes.map(attribute).join(', ')})`;
    case 'range':
      return `CREATE TYPE ${key(t.key)} AS RANGE (SUBTYPE = ${t.subtype})`;
    case 'domain': {
      const parts = [`CREATE DOMAIN ${key(t.key)} AS ${t.baseType}`];
      if (t.collation) parts.push(`COLLATE ${t.collation}`);
      if (t.default !== null) parts.push(`DEFAULT ${t.default}`);
      if (t.notNull) parts.push('NOT NULL');
      for (const c of t.checks) parts.push(`CONSTRAINT ${ident(c.name)} ${c.definition}`);
      return parts.join(' ');
    }
  }
}

function alterAttributes(from: TypeDef, to: TypeDef): string {
  if (from.variant !== 'composite' || to.variant !== 'composite')
    throw new Error('alter-composite-attributes on a non-composite type');
  const before = new Map(from.attributes.map((a) => [a.name, a]));
  const after = new Set(to.attributes.map((a) => a.name));
  const actions: string[] = [];
  for (const a of from.attributes) if (!after.has(a.name)) actions.push(`DROP ATTRIBUTE ${ident(a.name)}`);
  for (const a of to.attributes) {
    const old = before.get(a.name);
    if (!old) actions.push(`ADD ATTRIBUTE ${attribute(a)}`);
    else if (old.type !== a.type || old.collation !== a.collation) {
      actions.push(`ALTER ATTRIBUTE ${ident(a.name)} TYPE ${a.type}${a.collation ? ` COLLATE ${a.collation}` : ''}`);
    }
  }
  return `ALTER TYPE ${key(to.key)} ${actions.join(', ')}`;
}

function domainDefault(domain: ObjectKey, expr: string | null): string {
  return expr === null ? `ALTER DOMAIN ${key(domain)} DROP DEFAULT` : `ALTER DOMAIN ${key(domain)} SET DEFAULT ${expr}`;
}

function addDomainCheck(domain: ObjectKey, c: DomainCheck, validateApart: boolean): string[] {
  const add = `ALTER DOMAIN ${key(domain)} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`;
  return validateApart
    ? [`${add} NOT VALID`, `ALTER DOMAIN ${key(domain)} VALIDATE CONSTRAINT ${ident(c.name)}`]
    : [add];
}

function dropDomainCheck(domain: ObjectKey, c: DomainCheck): string {
  return `ALTER DOMAIN ${key(domain)} DROP CONSTRAINT ${ident(c.name)}`;
}

/** How COMMENT ON, GRANT ON and ALTER ... OWNER name an object. */
function objectWords(k: ObjectKey): { kind: string; name: string } {
  switch (k.kind) {
    case 'schema':
      return { kind: 'SCHEMA', name: ident(k.name) };
    case 'extension':
      return { kind: 'EXTENSION', name: ident(k.name) };
    case 'function':
    case 'procedure':
      return { kind: routineWord(k), name: routineRef(k) };
    case 'materialized-view':
      return { kind: 'MATERIALIZED VIEW', name: key(k) };
    case 'text-search-dictionary':
      return { kind: 'TEXT SEARCH DICTIONARY', name: key(k) };
    case 'text-search-configuration':
      return { kind: 'TEXT SEARCH CONFIGURATION', name: key(k) };
    case 'trigger':
    case 'policy': {
      const [schema, table] = splitQualified(k.parent ?? '');
      return { kind: k.kind.toUpperCase(), name: `${ident(k.name)} ON ${qualified(schema, table)}` };
    }
    default:
      return { kind: k.kind.toUpperCase(), name: key(k) };
  }
}

function comment(c: ChangeOf<'set-comment'>, text: string | null): string {
  const value = text === null ? 'NULL' : literal(text);
  if (c.column !== undefined) return `COMMENT ON COLUMN ${key(c.target)}.${ident(c.column)} IS ${value}`;
  if (c.constraint !== undefined) {
    const on = c.target.kind === 'domain' ? `DOMAIN ${key(c.target)}` : key(c.target);
    return `COMMENT ON CONSTRAINT ${ident(c.constraint)} ON ${on} IS ${value}`;
  }
  const w = objectWords(c.target);
  return `COMMENT ON ${w.kind} ${w.name} IS ${value}`;
}

function grantTarget(k: ObjectKey): string {
  switch (k.kind) {
    case 'table':
    case 'view':
    case 'materialized-view':
      return `TABLE ${key(k)}`;
    default: {
      const w = objectWords(k);
      return `${w.kind} ${w.name}`;
    }
  }
}

const grantee = (name: string) => (name === 'PUBLIC' ? 'PUBLIC' : ident(name));
const privilegeList = (p: Privilege, names: string[]) =>
  names.map((n) => (p.column !== undefined ? `${n} (${ident(p.column)})` : n)).join(', ');

function grant(p: Privilege): string[] {
  const withOption = p.privileges.filter((x) => p.grantable.includes(x));
  const plain = p.privileges.filter((x) => !p.grantable.includes(x));
  const out: string[] = [];
  if (plain.length) out.push(`GRANT ${privilegeList(p, plain)} ON ${grantTarget(p.target)} TO ${grantee(p.grantee)}`);
  if (withOption.length)
    out.push(
      `GRANT ${privilegeList(p, withOption)} ON ${grantTarget(p.target)} TO ${grantee(p.grantee)} WITH GRANT OPTION`,
    );
  return out;
}

function revoke(p: Privilege): string[] {
  return [`REVOKE ${privilegeList(p, p.privileges)} ON ${grantTarget(p.target)} FROM ${grantee(p.grantee)}`];
}

function setOwner(k: ObjectKey, owner: string): string {
  const w = objectWords(k);
  return `ALTER ${w.kind} ${w.name} OWNER TO ${ident(owner)}`;
}
