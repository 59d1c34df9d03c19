import { describe, expect, it } from 'vitest';
import { parseKey } from '../model/object-key';
import type { Plan, PlanStep, StepAction } from '../plan/plan';
import { canConflict, freedBeforeCreate } from './conflicts';

const step = (order: number, key: string, action: StepAction, statements: string[]): PlanStep => ({
  order,
  project: 'p',
  key,
  objectKey: parseKey(key),
  action,
  statements,
  reverse: null,
  transactional: true,
  hazards: [],
  source: null,
  checksum: '',
});
const plan = (steps: PlanStep[]): Plan => ({
  formatVersion: 1,
  engine: 'postgres',
  projects: ['p'],
  sourceCommit: null,
  baseFingerprint: null,
  steps,
});

describe('freedBeforeCreate', () => {
  it('frees what an earlier step drops, renames away, or drops with its table; not what is only created', () => {
    const freed = freedBeforeCreate(
      plan([
        step(1, 'view:s.v', 'drop', ['DROP VIEW s.v']),
        step(2, 'table:s.new', 'alter', ['ALTER TABLE s.old RENAME TO new']),
        step(3, 'table:s.t', 'drop', ['DROP TABLE s.t']),
        step(4, 'view:s.v', 'create', ['CREATE VIEW s.v AS SELECT 1']),
        step(5, 'table:s.old', 'create', ['CREATE TABLE s.old (a int)']),
        step(6, 'index:s.t_i@s.t', 'create', ['CREATE INDEX t_i ON s.t (a)']),
        step(7, 'view:s.w', 'create', ['-- note\nDROP VIEW s.w', 'CREATE VIEW s.w AS SELECT 1']),
        step(8, 'view:s.x', 'create', ['CREATE VIEW s.x AS SELECT 1']),
        step(9, 'view:s.v', 'create', ['CREATE VIEW s.v AS SELECT 2']),
      ]),
    );
    expect([...freed].sort((a, b) => a - b)).toEqual([4, 5, 6, 7]);
  });

  it('a drop frees the name for another kind that shares it: a view re-created as a table, a function as a procedure', () => {
    const freed = freedBeforeCreate(
      plan([
        step(1, 'view:s.x', 'drop', ['DROP VIEW s.x']),
        step(2, 'function:s.f(integer)', 'drop', ['DROP FUNCTION s.f(integer)']),
        step(3, 'type:s.e', 'drop', ['DROP TYPE s.e']),
        step(4, 'table:s.x', 'create', ['CREATE TABLE s.x (a int)']),
        step(5, 'procedure:s.f(integer)', 'create', ['CREATE PROCEDURE s.f(a integer) LANGUAGE sql AS $$ $$']),
        step(6, 'domain:s.e', 'create', ['CREATE DOMAIN s.e AS int']),
        step(7, 'procedure:s.f(text)', 'create', ['CREATE PROCEDURE s.f(a text) LANGUAGE sql AS $$ $$']),
        step(8, 'sequence:s.x', 'create', ['CREATE SEQUENCE s.x']),
      ]),
    );
    expect([...freed].sort((a, b) => a - b)).toEqual([4, 5, 6]);
  });
});

describe('canConflict', () => {
  it('a REPLACE or CREATE OR REPLACE never collides, unless the engine says a REPLACE over an unknown object is a conflict (replaceConflicts)', () => {
    const replace = step(1, 'view:s.v', 'create', ['-- the view\nREPLACE VIEW s.v AS SELECT 1']);
    const orReplace = step(2, 'view:s.w', 'create', ['CREATE OR REPLACE VIEW s.w AS SELECT 1']);
    const create = step(3, 'table:s.t', 'create', ['CREATE TABLE s.t (a int)']);
    const changed = step(4, 'view:s.v', 'replace', ['REPLACE VIEW s.v AS SELECT 2']);
    expect([replace, orReplace, create, changed].map((s) => canConflict(s))).toEqual([false, false, true, false]);
    expect([replace, orReplace, create, changed].map((s) => canConflict(s, true))).toEqual([true, false, true, false]);
  });
});
