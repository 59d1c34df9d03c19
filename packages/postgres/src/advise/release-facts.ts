import type { ReleaseFacts } from '@dbee/core';
import { parseSql } from '../parse/libpg';

// biome-ignore lint/suspicious/noExplicitAny: the parse tree is walked generically
type AnyNode = Record<string, any>;

/**
 * What a release's statements do that the advice weighs: indexes created (plain column lists only) and dropped,
 * constraints dropped (a key's index goes with it), foreign keys added (in `CREATE TABLE` or `ALTER TABLE`), and tables whose rows a migration writes. The parser must be
 * loaded (a plan was parsed to be made). A statement that does not parse tells nothing.
 */
export function releaseFacts(steps: { key: string; action: string; statements: string[] }[]): ReleaseFacts {
  const facts: ReleaseFacts = {
    createdIndexes: [],
    droppedIndexes: [],
    droppedConstraints: [],
    foreignKeys: [],
    dataChanged: [],
  };
  for (const step of steps) {
    for (const sql of step.statements) {
      let parsed: AnyNode;
      try {
        parsed = parseSql(sql) as AnyNode;
      } catch {
        continue;
      }
      for (const { stmt } of parsed.stmts ?? []) statementFacts(step.key, stmt as AnyNode, facts);
    }
  }
  return facts;
}

function statementFacts(key: string, stmt: AnyNode, facts: ReleaseFacts): void {
  const index = stmt['IndexStmt'];
  if (index) {
    const columns = (index.indexParams ?? []).map((p: AnyNode) => p.IndexElem?.name as string | undefined);
    if (!index.whereClause && columns.length && columns.every(Boolean))
      facts.createdIndexes.push({
        key,
        index: {
          schema: index.relation.schemaname ?? 'public',
          table: index.relation.relname,
          columns,
          name: index.idxname ?? 'index',
        },
      });
    return;
  }
  const drop = stmt['DropStmt'];
  if (drop?.removeType === 'OBJECT_INDEX') {
    for (const o of drop.objects ?? []) {
      const names = (o.List?.items ?? []).map((i: AnyNode) => i.String?.sval as string);
      facts.droppedIndexes.push({ key, schema: names.length > 1 ? names[0] : 'public', name: names.at(-1) });
    }
    return;
  }
  const create = stmt['CreateStmt'];
  const alter = stmt['AlterTableStmt'];
  const relation = (create ?? alter)?.relation;
  if (relation) {
    const schema = relation.schemaname ?? 'public';
    const table = relation.relname as string;
    const constraints: { name?: string; columns: string[] }[] = [];
    for (const el of create?.tableElts ?? []) {
      const column = el.ColumnDef;
      for (const c of column?.constraints ?? [])
        if (c.Constraint?.contype === 'CONSTR_FOREIGN')
          constraints.push({ name: c.Constraint.conname, columns: [column.colname] });
      if (el.Constraint?.contype === 'CONSTR_FOREIGN') constraints.push(foreignKey(el.Constraint));
    }
    for (const cmd of alter?.cmds ?? []) {
      const def = cmd.AlterTableCmd?.def?.Constraint;
      if (cmd.AlterTableCmd?.subtype === 'AT_AddConstraint' && def?.contype === 'CONSTR_FOREIGN')
        constraints.push(foreignKey(def));
      if (cmd.AlterTableCmd?.subtype === 'AT_DropConstraint' && cmd.AlterTableCmd.name)
        facts.droppedConstraints.push({ key, schema, table, name: cmd.AlterTableCmd.name as string });
    }
    for (const c of constraints)
      if (c.columns.length)
        facts.foreignKeys.push({ key, schema, table, name: c.name ?? `${table}_fkey`, columns: c.columns });
    return;
  }
  const write = stmt['UpdateStmt'] ?? stmt['InsertStmt'] ?? stmt['DeleteStmt'] ?? stmt['MergeStmt'];
  if (write?.relation) {
    const schema = write.relation.schemaname ?? 'public';
    const name = write.relation.relname as string;
    if (!facts.dataChanged.some((t) => t.schema === schema && t.name === name && t.key === key))
      facts.dataChanged.push({ key, schema, name });
  }
}

function foreignKey(c: AnyNode): { name?: string; columns: string[] } {
  return { name: c.conname, columns: (c.fk_attrs ?? []).map((a: AnyNode) => a.String?.sval as string) };
}
