import { describe, expect, it } from 'vitest';
import { emptyModel, type Column, type SchemaModel } from '../schema/model';
import { schemasUsed } from './verify-views';

const column = (name: string, type: string, value: string | null = null): Column => ({
  name,
  type,
  default: value,
  identity: null,
  generated: null,
  collation: null,
  notNull: false,
  position: 1,
  dependsOn: [],
  attrs: {},
});

function model(columns: Column[]): SchemaModel {
  const m = emptyModel();
  m.tables.push({
    key: { kind: 'table', schema: 'public', name: 't' },
    columns,
    constraints: [],
    dependsOn: [],
    attrs: {},
  });
  return m;
}

describe('schemasUsed: what a copy of the target needs besides its schemas', () => {
  it('the schema of a column type of an extension installed in a schema of its own', () => {
    expect(schemasUsed(model([column('at', 'postgis.geography(Point,4326)')]))).toEqual(['postgis']);
  });

  it('the schema of a function a default calls (uuid-ossp in ext, eVaka), and of a type a default casts to', () => {
    // An extension's members are no objects of the model, so no dependsOn names ext: the copy lacked it, and failed
    // (schema "ext" does not exist) on the first table whose default calls ext.uuid_generate_v1mc().
    expect(
      schemasUsed(
        model([
          column('id', 'uuid', 'ext.uuid_generate_v1mc()'),
          column('tags', 'text', '(\'{}\'::"My Ext".citext)::text'),
          column('n', 'bigint', "nextval('public.t_n_seq'::regclass)"),
          column('note', 'text', "'see other.f(1)'::text"),
        ]),
      ).sort(),
    ).toEqual(['My Ext', 'ext']);
  });
});
