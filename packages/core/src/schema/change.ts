import type { ObjectKey } from '../model/object-key';
import type {
  Attrs,
  Collation,
  Column,
  Constraint,
  DomainCheck,
  Extension,
  IdentityKind,
  Index,
  Privilege,
  Routine,
  SchemaDef,
  Sequence,
  Table,
  TextSearchConfiguration,
  TextSearchDictionary,
  Trigger,
  TypeDef,
  View,
} from './model';

/**
 * Why an object that is otherwise unchanged, or changed in a way the engine can apply in place, is dropped and
 * created again. Set on both halves of the pair.
 */
export interface Recreate {
  /**
   * `formatKey` of the object (or `table.column`) whose change forces the recreation; the object's own key when
   * its own change cannot be applied in place (a view losing a column, a function changing its result type).
   */
  cause: string;
}

type DomainDef = Extract<TypeDef, { variant: 'domain' }>;

/**
 * A table column that uses a type created again (an enum losing or reordering values): the old type is renamed
 * aside, the column moved to the new one through its text form, its default put back, and the old type dropped.
 */
export interface TypeMove {
  table: ObjectKey;
  column: string;
  /** The column's type in the desired model, e.g. `sales.status` or `sales.status[]`. */
  type: string;
  /** The column's default in the desired model, set again after the move; null when none. */
  default: string | null;
  /** Its default in the live model, dropped before the move; null when none. */
  fromDefault: string | null;
}

/**
 * A sequence position carried across serial <-> identity: the holder is a sequence of that name in the table's
 * schema, made by one change and dropped by the next once the new sequence has taken its position.
 */
export interface SequenceCarry {
  /** The holder sequence: the old serial sequence renamed, or a sequence made to keep an identity's position. */
  holder: ObjectKey;
}

/**
 * One typed difference between two models. Every change carries what the renderer needs to write both the
 * statements and their reverse: drops carry the dropped definition, alters carry both sides.
 */
export type Change =
  | { kind: 'create-schema'; schema: SchemaDef }
  | { kind: 'drop-schema'; schema: SchemaDef }
  | { kind: 'create-extension'; extension: Extension }
  | { kind: 'drop-extension'; extension: Extension }
  | { kind: 'alter-extension-version'; from: Extension; to: Extension }
  | { kind: 'create-collation'; collation: Collation }
  | { kind: 'drop-collation'; collation: Collation }
  /** A collation whose definition changes while columns, indexes or views use it: the renderer refuses it. */
  | { kind: 'alter-collation'; from: Collation; to: Collation }
  | { kind: 'create-text-search-dictionary'; dictionary: TextSearchDictionary }
  | { kind: 'drop-text-search-dictionary'; dictionary: TextSearchDictionary }
  /** New options of a dictionary whose template stays (`ALTER TEXT SEARCH DICTIONARY ... (option = value)`). */
  | { kind: 'alter-text-search-dictionary'; from: TextSearchDictionary; to: TextSearchDictionary }
  | { kind: 'create-text-search-configuration'; configuration: TextSearchConfiguration }
  | { kind: 'drop-text-search-configuration'; configuration: TextSearchConfiguration }
  /** New token mappings of a configuration whose parser stays (`ALTER TEXT SEARCH CONFIGURATION ... MAPPING`). */
  | {
      kind: 'alter-text-search-configuration';
      from: TextSearchConfiguration;
      to: TextSearchConfiguration;
      /** Applied with the drops: it stops using a dictionary the diff drops, and uses none the diff creates. */
      early?: boolean;
    }
  /** `table.constraints` leaves out foreign keys: each follows as an `add-constraint` once both tables exist. */
  | { kind: 'create-table'; table: Table; recreate?: Recreate }
  /**
   * `aside`: the table is re-created for a partitioning change; it is renamed to this name (its indexes and
   * identity sequences too) instead of dropped, and dropped by the `copy-rows` change once its rows are copied.
   */
  | { kind: 'drop-table'; table: Table; recreate?: Recreate; aside?: string }
  /**
   * The rows of an old table renamed aside (`from`, a partition tree's root) go into the new `table` (the root of the
   * new tree, `partitions` its tables, all created before), where they fit its partitions; then `from` is dropped.
   */
  | { kind: 'copy-rows'; table: ObjectKey; from: ObjectKey; partitions: ObjectKey[] }
  /** The table's engine-specific attributes changed; the renderer refuses what the engine cannot alter in place. */
  | {
      kind: 'alter-table-options';
      table: ObjectKey;
      from: Attrs;
      to: Attrs;
      /** Applied with the drops (policies dropped before a column they use is dropped or retyped). */
      early?: boolean;
    }
  /** Only from a `RenameDeclaration`: renames are never guessed. `table` is the new key. */
  | { kind: 'rename-table'; table: ObjectKey; from: string; to: string }
  | { kind: 'add-column'; table: ObjectKey; column: Column }
  | { kind: 'drop-column'; table: ObjectKey; column: Column }
  /** Only from a `RenameDeclaration`. */
  | { kind: 'rename-column'; table: ObjectKey; from: string; to: string }
  /** Only from a `RenameDeclaration`: a view, materialized view, function or procedure. `object` is the new key. */
  | { kind: 'rename-object'; object: ObjectKey; from: string; to: string }
  /** Type or collation change. */
  | { kind: 'alter-column-type'; table: ObjectKey; column: string; from: Column; to: Column }
  /** `carry`: a column that becomes serial goes on from the position saved in the holder (identity -> serial). */
  | {
      kind: 'alter-column-default';
      table: ObjectKey;
      column: string;
      from: string | null;
      to: string | null;
      carry?: SequenceCarry;
    }
  | { kind: 'alter-column-nullability'; table: ObjectKey; column: string; from: boolean; to: boolean }
  /**
   * The column's engine settings changed (`Column.attrs` other than identity and generation: PostgreSQL's SET
   * STATISTICS, SET (n_distinct ...), SET COMPRESSION, SET STORAGE); `from` and `to` are the column on both sides.
   */
  | { kind: 'alter-column-settings'; table: ObjectKey; column: string; from: Column; to: Column }
  /**
   * `carry`: the column changes between serial and identity, and the sequence position goes along through a holder
   * sequence (`carry.holder`): identity -> serial saves the identity's position there before `DROP IDENTITY`;
   * serial -> identity reads it there after `ADD ... AS IDENTITY` and drops the holder.
   */
  | {
      kind: 'alter-column-identity';
      table: ObjectKey;
      column: string;
      from: IdentityKind | null;
      to: IdentityKind | null;
      carry?: SequenceCarry;
      /** The column on both sides, when the identity's sequence options (`attrs.identityOptions`) change too. */
      options?: { from: Column; to: Column };
    }
  | { kind: 'add-constraint'; table: ObjectKey; constraint: Constraint; recreate?: Recreate }
  /** A foreign key whose deferrability alone changes (`deferrable`, `initiallyDeferred`): altered in place. */
  | { kind: 'alter-constraint'; table: ObjectKey; from: Constraint; to: Constraint }
  | { kind: 'drop-constraint'; table: ObjectKey; constraint: Constraint; recreate?: Recreate }
  | { kind: 'create-index'; index: Index; recreate?: Recreate }
  | { kind: 'drop-index'; index: Index; recreate?: Recreate }
  /** An index whose storage parameters alone change (`attrs.reloptions`): altered in place, the index not rebuilt. */
  | { kind: 'alter-index-options'; from: Index; to: Index }
  | { kind: 'create-view'; view: View; recreate?: Recreate }
  | { kind: 'replace-view'; from: View; to: View }
  | { kind: 'drop-view'; view: View; recreate?: Recreate }
  | { kind: 'create-routine'; routine: Routine; recreate?: Recreate }
  | { kind: 'replace-routine'; from: Routine; to: Routine }
  | { kind: 'drop-routine'; routine: Routine; recreate?: Recreate }
  | { kind: 'create-trigger'; trigger: Trigger; recreate?: Recreate }
  | { kind: 'replace-trigger'; from: Trigger; to: Trigger }
  | { kind: 'drop-trigger'; trigger: Trigger; recreate?: Recreate }
  | { kind: 'create-sequence'; sequence: Sequence }
  /** Options or `OWNED BY` changed. A new owned sequence is created unowned and gets its owner here. */
  | { kind: 'alter-sequence'; from: Sequence; to: Sequence }
  /** `carry`: a serial's sequence whose column becomes an identity is renamed to the holder, not dropped. */
  | {
      kind: 'drop-sequence';
      sequence: Sequence;
      carry?: SequenceCarry;
      /**
       * Identity -> serial where the serial's sequence takes the identity's sequence name: this change is the
       * identity's `DROP IDENTITY` (which drops that sequence), its position kept in `carry.holder`.
       */
      identity?: { table: ObjectKey; column: string; from: IdentityKind };
    }
  /** Enum, composite or range type. */
  /** `moves`: columns that keep using the type across its recreation (set on both halves). */
  | { kind: 'create-type'; type: TypeDef; recreate?: Recreate; moves?: TypeMove[] }
  | { kind: 'drop-type'; type: TypeDef; recreate?: Recreate; moves?: TypeMove[] }
  /** New enum value; `before`/`after` place it (neither: at the end). */
  | { kind: 'alter-enum-add-value'; type: ObjectKey; value: string; before?: string; after?: string }
  | { kind: 'alter-composite-attributes'; from: TypeDef; to: TypeDef }
  | { kind: 'create-domain'; domain: DomainDef; recreate?: Recreate }
  | { kind: 'drop-domain'; domain: DomainDef; recreate?: Recreate }
  | { kind: 'alter-domain-default'; domain: ObjectKey; from: string | null; to: string | null }
  | { kind: 'alter-domain-nullability'; domain: ObjectKey; from: boolean; to: boolean }
  | { kind: 'add-domain-constraint'; domain: ObjectKey; constraint: DomainCheck }
  | { kind: 'drop-domain-constraint'; domain: ObjectKey; constraint: DomainCheck }
  | {
      kind: 'set-comment';
      target: ObjectKey;
      column?: string;
      constraint?: string;
      from: string | null;
      to: string | null;
    }
  /** `privilege.privileges` lists only what is granted by this change. */
  | { kind: 'grant'; privilege: Privilege }
  /**
   * `privilege.privileges` lists only what is revoked by this change; `privilege.grantable` those of them that
   * were held WITH GRANT OPTION (for the reverse).
   */
  | { kind: 'revoke'; privilege: Privilege }
  /** Only when `diffModels` is asked to compare owners. */
  | { kind: 'set-owner'; target: ObjectKey; from: string; to: string };

export type ChangeKind = Change['kind'];

/** A change of one kind, e.g. `ChangeOf<'add-column'>`. */
export type ChangeOf<K extends ChangeKind> = Extract<Change, { kind: K }>;

/** Declares that an object was renamed, so the differ renames it instead of dropping and creating it. */
export type RenameDeclaration =
  | {
      kind: 'table';
      schema: string;
      /** Ignored for tables; accepted so that one shape serves both kinds. */
      table?: string;
      /** Old table name (in the `from` model). */
      from: string;
      /** New table name (in the `to` model). */
      to: string;
    }
  | {
      kind: 'column';
      schema: string;
      /** The table's name in the `to` model (its old name is accepted too when the table is also renamed). */
      table: string;
      from: string;
      to: string;
    }
  | {
      /** A view or a materialized view. */
      kind: 'view';
      schema: string;
      from: string;
      to: string;
    }
  | {
      /** A function or a procedure. */
      kind: 'function';
      schema: string;
      from: string;
      to: string;
      /** Its argument types as the engine prints them; needed only when the old name is overloaded. */
      args?: string[];
    };

/** The object a change is about: the table for column and constraint changes, the target for comments and grants. */
export function changeObjectKey(change: Change): ObjectKey {
  switch (change.kind) {
    case 'create-schema':
    case 'drop-schema':
      return change.schema.key;
    case 'create-extension':
    case 'drop-extension':
      return change.extension.key;
    case 'alter-extension-version':
    case 'alter-collation':
    case 'alter-text-search-dictionary':
    case 'alter-text-search-configuration':
      return change.to.key;
    case 'create-text-search-dictionary':
    case 'drop-text-search-dictionary':
      return change.dictionary.key;
    case 'create-text-search-configuration':
    case 'drop-text-search-configuration':
      return change.configuration.key;
    case 'create-collation':
    case 'drop-collation':
      return change.collation.key;
    case 'create-table':
    case 'drop-table':
      return change.table.key;
    case 'rename-object':
      return change.object;
    case 'rename-table':
    case 'copy-rows':
    case 'alter-table-options':
    case 'add-column':
    case 'drop-column':
    case 'rename-column':
    case 'alter-column-type':
    case 'alter-column-default':
    case 'alter-column-nullability':
    case 'alter-column-settings':
    case 'alter-column-identity':
    case 'add-constraint':
    case 'drop-constraint':
    case 'alter-constraint':
      return change.table;
    case 'create-index':
    case 'drop-index':
      return change.index.key;
    case 'create-view':
    case 'drop-view':
      return change.view.key;
    case 'replace-view':
    case 'replace-routine':
    case 'replace-trigger':
    case 'alter-sequence':
    case 'alter-index-options':
    case 'alter-composite-attributes':
      return change.to.key;
    case 'create-routine':
    case 'drop-routine':
      return change.routine.key;
    case 'create-trigger':
    case 'drop-trigger':
      return change.trigger.key;
    case 'create-sequence':
    case 'drop-sequence':
      return change.sequence.key;
    case 'create-type':
    case 'drop-type':
      return change.type.key;
    case 'alter-enum-add-value':
      return change.type;
    case 'create-domain':
    case 'drop-domain':
      return change.domain.key;
    case 'alter-domain-default':
    case 'alter-domain-nullability':
    case 'add-domain-constraint':
    case 'drop-domain-constraint':
      return change.domain;
    case 'set-comment':
    case 'set-owner':
      return change.target;
    case 'grant':
    case 'revoke':
      return change.privilege.target;
  }
}
