import type { ObjectKey } from '@dbee/core';

/** Quote an identifier only when PostgreSQL needs it. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

function qualified(key: ObjectKey): string {
  return key.schema ? `${quoteIdent(key.schema)}.${quoteIdent(key.name)}` : quoteIdent(key.name);
}

/** DROP statement for an object created by a step: the reverse of that step. */
export function dropStatement(key: ObjectKey): string | null {
  const parentTable = key.parent ? key.parent.split('.').map(quoteIdent).join('.') : '';
  switch (key.kind) {
    case 'schema':
      return `DROP SCHEMA ${quoteIdent(key.name)}`;
    case 'extension':
      return `DROP EXTENSION ${quoteIdent(key.name)}`;
    case 'table':
      return `DROP TABLE ${qualified(key)}`;
    case 'view':
      return `DROP VIEW ${qualified(key)}`;
    case 'materialized-view':
      return `DROP MATERIALIZED VIEW ${qualified(key)}`;
    case 'function':
    case 'procedure':
    case 'aggregate':
      return `DROP ${key.kind.toUpperCase()} ${qualified(key)}(${(key.args ?? []).join(', ')})`;
    case 'sequence':
      return `DROP SEQUENCE ${qualified(key)}`;
    case 'type':
      return `DROP TYPE ${qualified(key)}`;
    case 'domain':
      return `DROP DOMAIN ${qualified(key)}`;
    case 'text-search-dictionary':
      return `DROP TEXT SEARCH DICTIONARY ${qualified(key)}`;
    case 'text-search-configuration':
      return `DROP TEXT SEARCH CONFIGURATION ${qualified(key)}`;
    case 'index':
      return `DROP INDEX ${qualified(key)}`;
    case 'trigger':
      return key.parent ? `DROP TRIGGER ${quoteIdent(key.name)} ON ${parentTable}` : null;
    case 'policy':
      return key.parent ? `DROP POLICY ${quoteIdent(key.name)} ON ${parentTable}` : null;
    case 'constraint':
      return key.parent ? `ALTER TABLE ${parentTable} DROP CONSTRAINT ${quoteIdent(key.name)}` : null;
    default:
      return null;
  }
}
