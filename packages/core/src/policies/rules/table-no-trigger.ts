import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** No triggers on tables (for teams that keep behaviour out of the schema). */
export const tableNoTrigger: PolicyRule<Record<string, never>> = {
  name: 'table-no-trigger',
  category: 'keys',
  summary: 'Tables have no triggers.',
  why: 'A trigger is behaviour a reader of the application code does not see; some teams allow only reviewed ones.',
  bytebase: 'table.disallow-trigger',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.t (id bigint PRIMARY KEY, at timestamptz);\nCREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$;\nCREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch();',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, at timestamptz);',
  },
  check(subject) {
    return subject.model.triggers
      .filter((t) => subject.judges(t.key))
      .map((t) => ({
        object: t.table,
        near: t.key.name,
        message: `trigger ${t.key.name} on ${qualified(t.table)}: this team keeps behaviour out of the schema`,
      }));
  },
};
