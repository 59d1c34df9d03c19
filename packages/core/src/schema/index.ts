// Public API of the schema model, differ and hazard pass: a flat list of explicit exports.
// The engine packages print the model's keys with it (imported from here, not from the whole of `@dbee/core`).
export { BoundedMemo } from '../bounded-memo';
export { formatKey } from '../model/object-key';
export { emptyModel } from './model';
export type {
  SchemaModel,
  Attrs,
  SchemaObject,
  SchemaDef,
  Extension,
  IdentityKind,
  Column,
  ConstraintKind,
  ReferentialAction,
  ForeignKeyReference,
  Constraint,
  Table,
  Index,
  ViewColumn,
  ColumnRef,
  View,
  Routine,
  Trigger,
  Sequence,
  Collation,
  TextSearchDictionary,
  TextSearchMapping,
  TextSearchConfiguration,
  CompositeAttribute,
  DomainCheck,
  TypeDef,
  Comment,
  Privilege,
  SchemaDefaultPrivilege,
  UnmodelledObject,
  PrivilegeGrant,
  Owner,
} from './model';
export { changeObjectKey } from './change';
export type { Change, ChangeKind, ChangeOf, Recreate, RenameDeclaration, SequenceCarry, TypeMove } from './change';
export {
  diffModels,
  allObjects,
  compareVersions,
  enumAdditions,
  viewColumnsCompatible,
  routineReplaceable,
} from './diff';
export type { DiffOptions } from './diff';
export type { DefinitionForm, SameDefinition } from './definition-form';
export { orderChanges, columnNode, constraintNode } from './order';
export { applyRenames, namedByRename } from './renames';
export { classifyHazards, typeChangeEffect, parseType } from './hazards';
export type { HazardOptions } from './hazards';
export { sameData } from './same-data';
export { indexModel } from './model-index';
export { topoSort } from './topo-sort';
export { managedScope, restrictModel, ignorePattern, grantees } from './managed-scope';
export type { ManagedScope, SchemaScope, ManageConfig } from './managed-scope';
export { rolesNamed } from './named-roles';
