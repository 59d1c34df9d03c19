import { formatKey, type ObjectKey } from '../model/object-key';
import type { Hazard } from '../model/hazard';
import type { Change } from './change';
import type { Column, SchemaModel } from './model';
import { indexModel, usersIndex } from './model-index';
import type { EngineFacts, ParsedType } from '../model/engine-facts';
import { LINT_RULES, type LintRuleId } from './lint-rules';

export interface HazardOptions {
  /** Indexes will be built without blocking writes (PostgreSQL: `CONCURRENTLY`); default false. */
  online?: boolean;
  /** The engine's volatile functions and type rules (`Engine.diff.facts`). */
  facts: EngineFacts;
}

/**
 * The risks of one change, judged against the models it goes between. A separate pass from the differ so
 * that each analyzer stays small and can be read on its own. A change with no hazards is safe.
 *
 * - data-loss: drops a table, column or sequence, or changes a column type in a way that can lose or reject values.
 * - table-rewrite: rewrites every row under an exclusive lock (most type changes; adding a column with a volatile
 *   default, an identity or a stored generated expression). A rewrite holds its lock for the whole rewrite: the
 *   hazard says so in its message rather than adding a separate long-lock.
 * - long-lock: holds a lock that blocks writes while it scans an existing table (SET NOT NULL, adding a primary
 *   key or unique constraint, building an index without `online`, validating a domain), or recomputes a
 *   materialized view that readers wait for.
 * - backward-incompatible: renames, revokes, changed routine signatures and view column lists, drops of objects
 *   that other views or routines use.
 * - index-build: builds an index on an existing table.
 * - rls-bypass: the expand-contract strategy's version schemas on a server whose views cannot be `security_invoker`
 *   (PostgreSQL before 15): their views read the tables with their owner's rights, so row-level security does not
 *   apply to applications reading through them (`operations/strategies/expand-contract/plan-release.ts`, not a
 *   diff's hazard).
 *
 * Changes to objects created by the same plan carry no lock or rewrite hazards: the table is empty.
 */
export function classifyHazards(change: Change, from: SchemaModel, to: SchemaModel, options: HazardOptions): Hazard[] {
  const h: Hazard[] = [];
  const add = (rule: LintRuleId, message: string) => h.push({ kind: LINT_RULES[rule].hazard, message, rule });
  const before = indexModel(from);
  const existing = (table: ObjectKey) => before.tables.has(formatKey(table));
  const name = (key: ObjectKey) =>
    `${key.schema ? key.schema + '.' : ''}${key.name}${key.args ? `(${key.args.join(', ')})` : ''}`;

  switch (change.kind) {
    case 'drop-table': {
      if (change.aside) {
        // Re-created for a partitioning change: every row is copied into the new tables.
        const t = change.table;
        add(
          'recreating-table',
          `re-creates ${name(t.key)} for its new partitioning (${change.recreate?.cause ?? ''}): its rows are copied into the new table while the deployment holds an exclusive lock`,
        );
        if (typeof t.attrs['partitionOf'] !== 'string')
          add(
            'rows-outside-partitions',
            `rows of ${name(t.key)} that fit no partition of the new table are not copied (a WARNING counts them)`,
          );
        break;
      }
      add('ban-drop-table', `drops table ${name(change.table.key)} and its data`);
      const users = dependents(from, change.table.key);
      if (users.length)
        add('dropping-used-object', `drops table ${name(change.table.key)}, used by ${users.join(', ')}`);
      break;
    }
    case 'drop-column': {
      const col = `${name(change.table)}.${change.column.name}`;
      const recreated =
        indexModel(to)
          .tables.get(formatKey(change.table))
          ?.columns.some((c) => c.name === change.column.name) ?? false;
      if (!recreated || change.column.generated === null) add('ban-drop-column', `drops column ${col} and its data`);
      const users = from.views
        .filter((v) =>
          v.dependsOnColumns.some(
            (r) => formatKey(r.table) === formatKey(change.table) && r.column === change.column.name,
          ),
        )
        .map((v) => name(v.key));
      if (users.length) add('dropping-used-object', `drops column ${col}, used by ${users.join(', ')}`);
      break;
    }
    case 'drop-sequence':
      // A serial's sequence whose column becomes an identity hands its position on: nothing is lost.
      if (!change.carry) add('ban-drop-sequence', `drops sequence ${name(change.sequence.key)} and its current value`);
      break;
    case 'add-column': {
      if (!existing(change.table)) break;
      const why = rewriteOnAdd(change.column, to, options.facts);
      if (why)
        add(
          why.startsWith('a volatile') ? 'adding-field-with-volatile-default' : 'adding-stored-generated-or-identity',
          `adds column ${name(change.table)}.${change.column.name} with ${why}: rewrites the table under an exclusive lock`,
        );
      break;
    }
    case 'alter-column-type': {
      const col = `${name(change.table)}.${change.column}`;
      const effect = typeChangeEffect(change.from, change.to, options.facts);
      if (effect.loss)
        add('column-type-loss', `changes ${col} from ${change.from.type} to ${change.to.type}: ${effect.loss}`);
      if (effect.rewrite)
        add(
          'changing-column-type',
          `changes ${col} from ${change.from.type} to ${change.to.type}: rewrites the table under an exclusive lock`,
        );
      break;
    }
    case 'alter-column-nullability':
      if (change.to && existing(change.table)) {
        add(
          'adding-not-nullable-field',
          `SET NOT NULL on ${name(change.table)}.${change.column} scans the table under an exclusive lock`,
        );
      }
      break;
    case 'add-constraint': {
      const c = change.constraint;
      if (!existing(change.table)) break;
      if (c.kind === 'primary-key' || c.kind === 'unique' || c.kind === 'exclusion') {
        add('adding-constraint-with-index', `constraint ${c.name} builds an index on ${name(change.table)}`);
        // Online, a primary key or unique constraint adopts an index built concurrently.
        if (!options.online || c.kind === 'exclusion') {
          add(
            'constraint-index-blocks-writes',
            `constraint ${c.name} builds its index on ${name(change.table)} while blocking writes`,
          );
        }
      }
      break;
    }
    case 'create-index': {
      const parent = change.index.table;
      const parentExists = existing(parent) || before.views.has(formatKey(parent));
      // Rebuilt on a materialized view that this plan creates again: the view's own step carries the cost.
      if (!parentExists || change.recreate?.cause === formatKey(parent)) break;
      add('index-build', `builds index ${name(change.index.key)} on ${name(parent)}`);
      // A partitioned table cannot be indexed CONCURRENTLY: online, its index is built per partition instead.
      const how =
        change.index.attrs['partitioned'] === true
          ? '--safe (or deploy.online) builds it per partition without blocking writes'
          : 'use online to build it concurrently';
      if (!options.online)
        add(
          'require-concurrent-index-creation',
          `builds index ${name(change.index.key)} while blocking writes to ${name(parent)} (${how})`,
        );
      break;
    }
    case 'create-view':
      if (change.view.key.kind === 'materialized-view' && before.views.has(formatKey(change.view.key))) {
        add(
          'refreshing-materialized-view',
          `recomputes materialized view ${name(change.view.key)}; its readers wait until the deployment commits`,
        );
      }
      break;
    case 'drop-view': {
      const v = change.view;
      const own = change.recreate?.cause === formatKey(v.key);
      if (own) {
        const next = to.views.find((x) => formatKey(x.key) === formatKey(v.key));
        const lost = v.columns
          .filter((c) => !next?.columns.some((n) => n.name === c.name && n.type === c.type))
          .map((c) => c.name);
        if (lost.length)
          add('changing-view-columns', `view ${name(v.key)} loses or changes columns ${lost.join(', ')}`);
        else if (next && v.columns.every((c, i) => next.columns[i]?.name === c.name)) {
          const added = next.columns.slice(v.columns.length).map((c) => c.name);
          add(
            'changing-view-columns',
            added.length
              ? `${v.key.kind} ${name(v.key)} appends column${added.length > 1 ? 's' : ''} ${added.join(', ')} (it is dropped and created again)`
              : `${v.key.kind} ${name(v.key)} is dropped and created again, its columns unchanged`,
          );
        } else if (next) add('changing-view-columns', `${v.key.kind} ${name(v.key)} changes the order of its columns`);
      } else if (!change.recreate) {
        const users = dependents(from, v.key);
        if (users.length) add('dropping-used-object', `drops view ${name(v.key)}, used by ${users.join(', ')}`);
      }
      break;
    }
    case 'drop-routine': {
      const r = change.routine;
      if (change.recreate?.cause === formatKey(r.key)) {
        add(
          'changing-routine-signature',
          `changes the result or parameters of ${name(r.key)} (it is dropped and created again)`,
        );
      } else if (!change.recreate) {
        const overload = to.routines.find(
          (x) => x.key.schema === r.key.schema && x.key.name === r.key.name && x.key.kind === r.key.kind,
        );
        const users = dependents(from, r.key);
        if (overload)
          add('changing-routine-signature', `changes the signature of ${name(r.key)} to ${name(overload.key)}`);
        else if (users.length)
          add('dropping-used-object', `drops ${r.key.kind} ${name(r.key)}, used by ${users.join(', ')}`);
      }
      break;
    }
    case 'drop-type':
      if (change.recreate?.cause === formatKey(change.type.key)) {
        add(
          'recreating-type',
          `type ${name(change.type.key)} cannot be altered in place (values removed or reordered): it is dropped and created again`,
        );
      }
      break;
    case 'rename-table':
      add('renaming-table', `renames table ${change.table.schema}.${change.from} to ${change.to}`);
      break;
    case 'rename-object':
      add('renaming-object', `renames ${change.object.kind} ${change.object.schema}.${change.from} to ${change.to}`);
      break;
    case 'rename-column':
      add('renaming-column', `renames column ${name(change.table)}.${change.from} to ${change.to}`);
      break;
    case 'revoke':
      add(
        'revoking-privilege',
        `revokes ${change.privilege.privileges.join(', ')} on ${name(change.privilege.target)} from ${change.privilege.grantee}`,
      );
      break;
    case 'alter-domain-nullability':
      if (change.to)
        add('domain-constraint-scan', `SET NOT NULL on domain ${name(change.domain)} checks every column that uses it`);
      break;
    case 'add-domain-constraint':
      if (from.types.some((t) => formatKey(t.key) === formatKey(change.domain))) {
        add(
          'domain-constraint-scan',
          `constraint ${change.constraint.name} on domain ${name(change.domain)} checks every column that uses it`,
        );
      }
      break;
    case 'alter-table-options':
      if (change.from['persistence'] !== change.to['persistence']) {
        add(
          'changing-table-persistence',
          `changes the persistence of ${name(change.table)}: rewrites the table under an exclusive lock`,
        );
      }
      break;
    default:
      break;
  }
  return h;
}

/** Views, routines and triggers of `model` that depend on `key`, by name. */
function dependents(model: SchemaModel, key: ObjectKey): string[] {
  const users = (usersIndex(model).byDependency.get(formatKey(key)) ?? []).filter((o) => o.key.kind !== 'index');
  return users.map((o) => `${o.key.kind} ${o.key.schema}.${o.key.name}`).sort();
}

/** Why adding this column rewrites the table, or null when the engine can add it as metadata only. */
function rewriteOnAdd(column: Column, to: SchemaModel, facts: EngineFacts): string | null {
  if (column.identity) return 'an identity';
  if (column.generated !== null && column.attrs['generatedKind'] !== 'virtual') return 'a stored generated expression';
  if (column.default === null) return null;
  for (const m of column.default.matchAll(/("?)([A-Za-z_][\w$]*)\1\s*\(/g)) {
    const fn = m[2]!.toLowerCase();
    if (facts.volatileFunctions.has(fn)) return `a volatile default (${column.default})`;
    const user = to.routines.find((r) => r.key.name === m[2]);
    if (user && user.volatility === 'volatile') return `a volatile default (${column.default})`;
  }
  return null;
}

/** Split a column type into base name (through the engine's `aliases`), modifiers and array-ness: `numeric(12,2)[]`. */
export function parseType(text: string, aliases: Readonly<Record<string, string>>): ParsedType {
  let t = text.trim().toLowerCase();
  const array = t.endsWith('[]');
  if (array) t = t.replace(/(\[\])+$/, '');
  const m = /^(.*?)\s*\(([^)]*)\)\s*(.*)$/.exec(t);
  let base = t;
  let mods: number[] = [];
  if (m) {
    base = `${m[1]}${m[3] ? ' ' + m[3] : ''}`.trim();
    mods = m[2]!.split(',').map((x) => Number(x.trim()));
  }
  return { base: aliases[base] ?? base, mods, array };
}

/**
 * What changing a column's type does: whether the engine rewrites the table, and why values may be lost or
 * rejected (null when every value converts exactly), as the engine's `facts.typeChange` says. Same text: nothing.
 */
export function typeChangeEffect(
  from: Pick<Column, 'type'>,
  to: Pick<Column, 'type'>,
  facts: EngineFacts,
): { rewrite: boolean; loss: string | null } {
  if (from.type === to.type) return { rewrite: false, loss: null };
  return facts.typeChange(parseType(from.type, facts.typeAliases), parseType(to.type, facts.typeAliases));
}
