import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Synthetic database projects for benchmarks: N objects spread over a few schemas, with the shapes that make
 * ordering and deployment non-trivial: tables with foreign keys and indexes, chains of views over views, SQL
 * and PL/pgSQL functions, procedures and triggers. Deterministic for a given N.
 */
export interface GeneratedProject {
  root: string;
  objects: number;
  files: number;
  /** The same objects as one SQL script in dependency order (for `psql -1 -f`, the floor). */
  script: string;
  /** The project's name and schemas (`<name>_s0`...), and how many 11-object units were generated. */
  name: string;
  schemas: string[];
  units: number;
}

export interface GenerateOptions {
  name: string;
  /** Approximate number of objects (tables, indexes, views, functions, procedures, triggers). */
  objects: number;
  schemas?: number;
  /** Projects this one depends on (by name); their schemas are `<dep>_s0`... */
  dependsOn?: string[];
}

/** Write `<root>/db.yaml` and object files. Returns the ordered script too. */
export function generateProject(root: string, options: GenerateOptions): GeneratedProject {
  const schemas = Array.from({ length: options.schemas ?? 4 }, (_, i) => `${options.name}_s${i}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'db.yaml'),
    `version: 1\nname: ${options.name}\nengine: postgres\nschemas: [${schemas.join(', ')}]\n` +
      (options.dependsOn?.length ? `dependsOn: [${options.dependsOn.join(', ')}]\n` : ''),
  );
  const script: string[] = [];
  let files = 0;
  let objects = 0;
  const write = (rel: string, sql: string, count: number) => {
    const abs = join(root, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, sql + '\n');
    files++;
    objects += count;
  };
  for (const s of schemas) {
    write(`schema/${s}/schema.sql`, `CREATE SCHEMA ${s};`, 1);
    script.push(`CREATE SCHEMA ${s};`);
  }
  // Each "unit" is 11 objects: 2 tables (FK between them, and to the previous unit), 2 indexes, a chain of 2
  // views, a SQL and a PL/pgSQL function, a trigger function and its trigger, and a procedure.
  const units = Math.max(1, Math.round((options.objects - schemas.length) / 11));
  const dep = options.dependsOn?.[0];
  for (let u = 0; u < units; u++) {
    const st = unitStatements(schemas, u, dep);
    const s = st.schema;
    write(`schema/${s}/tables/unit_${u}.sql`, `${st.parent}\n\n${st.child}\n\n${st.idx1}\n${st.idx2}`, 4);
    write(`schema/${s}/functions/unit_${u}.sql`, `${st.fsql}\n\n${st.fpl}`, 2);
    write(`schema/${s}/views/unit_${u}.sql`, `${st.v1}\n\n${st.v2}`, 2);
    write(`schema/${s}/triggers/unit_${u}.sql`, st.trg, 2);
    write(`schema/${s}/procedures/unit_${u}.sql`, st.proc, 1);
    script.push(st.parent, st.child, st.idx1, st.idx2, st.fsql, st.fpl, st.v1, st.v2, st.trg, st.proc);
  }
  return { root, objects, files, script: script.join('\n\n') + '\n', name: options.name, schemas, units };
}

/** The statements of unit `u` (11 objects), as written by `generateProject`. */
export function unitStatements(schemas: readonly string[], u: number, dep?: string) {
  const s = schemas[u % schemas.length]!;
  const prev = u > 0 ? `${schemas[(u - 1) % schemas.length]}.parent_${u - 1}` : null;
  const upstream = dep && u === 0 ? `${dep}_s0.parent_0` : null;
  const ref = prev ?? upstream;
  const parent = `CREATE TABLE ${s}.parent_${u} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  code text NOT NULL UNIQUE,\n  ${ref ? `prev_id bigint REFERENCES ${ref} (id),\n  ` : ''}amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),\n  updated_at timestamptz NOT NULL DEFAULT now()\n);`;
  const child = `CREATE TABLE ${s}.child_${u} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  parent_id bigint NOT NULL REFERENCES ${s}.parent_${u} (id) ON DELETE CASCADE,\n  qty integer NOT NULL CHECK (qty > 0),\n  note text\n);`;
  const idx1 = `CREATE INDEX child_${u}_parent_idx ON ${s}.child_${u} (parent_id);`;
  const idx2 = `CREATE INDEX parent_${u}_amount_idx ON ${s}.parent_${u} (amount) WHERE amount > 0;`;
  const fsql = `CREATE OR REPLACE FUNCTION ${s}.weight_${u}(q integer, a numeric)\nRETURNS numeric LANGUAGE sql IMMUTABLE\nAS $$ SELECT q * a $$;`;
  const fpl = `CREATE OR REPLACE FUNCTION ${s}.total_${u}(p_id bigint)\nRETURNS numeric LANGUAGE plpgsql STABLE AS $$\nDECLARE t numeric;\nBEGIN\n  SELECT coalesce(sum(${s}.weight_${u}(c.qty, p.amount)), 0) INTO t\n    FROM ${s}.child_${u} c JOIN ${s}.parent_${u} p ON p.id = c.parent_id\n   WHERE p.id = p_id;\n  RETURN t;\nEND;\n$$;`;
  const v1 = `CREATE OR REPLACE VIEW ${s}.v_${u} AS\nSELECT p.id, p.code, count(c.id) AS lines, sum(${s}.weight_${u}(c.qty, p.amount)) AS weight\nFROM ${s}.parent_${u} p LEFT JOIN ${s}.child_${u} c ON c.parent_id = p.id\nGROUP BY p.id, p.code;`;
  const v2 = `CREATE OR REPLACE VIEW ${s}.vv_${u} AS\nSELECT v.id, v.code, v.weight${u > 0 ? `, (SELECT count(*) FROM ${schemas[(u - 1) % schemas.length]}.vv_${u - 1}) AS upstream` : ''}\nFROM ${s}.v_${u} v WHERE v.lines > 0;`;
  const trg = `CREATE OR REPLACE FUNCTION ${s}.touch_${u}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;\nCREATE TRIGGER parent_${u}_touch BEFORE UPDATE ON ${s}.parent_${u}\n  FOR EACH ROW EXECUTE FUNCTION ${s}.touch_${u}();`;
  const proc = `CREATE OR REPLACE PROCEDURE ${s}.settle_${u}(p_id bigint)\nLANGUAGE plpgsql AS $$\nBEGIN\n  UPDATE ${s}.parent_${u} SET amount = ${s}.total_${u}(p_id) WHERE id = p_id;\nEND;\n$$;`;
  return { schema: s, parent, child, idx1, idx2, fsql, fpl, v1, v2, trg, proc };
}

/** One change of a change set. */
export interface Change {
  kind: 'view-body' | 'sql-function-body' | 'plpgsql-function-body' | 'add-column' | 'add-table';
  /** `schema.name` of the object changed or added (for an added column, its table). */
  object: string;
  /** The column added, for `add-column`. */
  column?: string;
}

/**
 * A change set over a generated project: about `fraction` of its objects touched, spread evenly over the units,
 * cycling through five kinds: a view body (`vv_<u>`'s filter), a SQL function body (`weight_<u>`), a PL/pgSQL
 * function body (`total_<u>`), an added column (`child_<u>.bench_note`: by default in the table's source, which
 * dbee deploys by diffing the live table; `columnsVia: 'migration'` writes a versioned migration instead) and an
 * added table (`extra_<u>`, a new file).
 */
export interface ChangeSet {
  changes: Change[];
  /** Files to write over the project (relative to its root), new or replaced. */
  files: Record<string, string>;
  /** The changed statements alone, in a valid order, for `psql -1 -f` on a database at the base state. */
  script: string;
  /** The reverse of `script` (for resetting a database to the base state). */
  revert: string;
}

export function generateChangeSet(
  gen: GeneratedProject,
  options: { fraction?: number; dependsOn?: string; columnsVia?: 'source' | 'migration' } = {},
): ChangeSet {
  const count = Math.max(5, Math.round(gen.objects * (options.fraction ?? 0.02)));
  const kinds: Change['kind'][] = [
    'view-body',
    'sql-function-body',
    'plpgsql-function-body',
    'add-column',
    'add-table',
  ];
  const changes: Change[] = [];
  const files: Record<string, string> = {};
  const script: string[] = [];
  const revert: string[] = [];
  const migration: string[] = [];
  const unrun: string[] = [];
  const byUnit = new Map<number, Change['kind'][]>();
  for (let i = 0; i < count; i++) {
    const u = Math.min(gen.units - 1, Math.floor(((i + 0.5) * gen.units) / count));
    byUnit.set(u, [...(byUnit.get(u) ?? []), kinds[i % kinds.length]!]);
  }
  for (const [u, unitKinds] of [...byUnit].sort((a, b) => a[0] - b[0])) {
    const st = unitStatements(gen.schemas, u, options.dependsOn);
    const s = st.schema;
    let { fsql, fpl, v2, child } = st;
    for (const kind of unitKinds) {
      switch (kind) {
        case 'view-body':
          v2 = v2.replace('WHERE v.lines > 0;', () => 'WHERE v.lines > 1;');
          changes.push({ kind, object: `${s}.vv_${u}` });
          script.push(v2);
          revert.push(st.v2);
          break;
        case 'sql-function-body':
          // (a function replacer: in a replacement string `$$` means `$`)
          fsql = fsql.replace('SELECT q * a $$', () => 'SELECT q * a * 1.0 $$');
          changes.push({ kind, object: `${s}.weight_${u}` });
          script.push(fsql);
          revert.push(st.fsql);
          break;
        case 'plpgsql-function-body':
          fpl = fpl.replace('RETURN t;', () => 'RETURN round(t, 2);');
          changes.push({ kind, object: `${s}.total_${u}` });
          script.push(fpl);
          revert.push(st.fpl);
          break;
        case 'add-column': {
          const sql = `ALTER TABLE ${s}.child_${u} ADD COLUMN bench_note text;`;
          changes.push({ kind, object: `${s}.child_${u}`, column: 'bench_note' });
          const drop = `ALTER TABLE ${s}.child_${u} DROP COLUMN bench_note;`;
          if (options.columnsVia === 'migration') {
            migration.push(sql);
            unrun.push(drop);
          } else {
            child = child.replace(/\n\);$/, () => ',\n  bench_note text\n);');
          }
          script.push(sql);
          revert.push(drop);
          break;
        }
        case 'add-table': {
          const sql = `CREATE TABLE ${s}.extra_${u} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  parent_id bigint NOT NULL REFERENCES ${s}.parent_${u} (id),\n  label text NOT NULL DEFAULT ''\n);`;
          changes.push({ kind, object: `${s}.extra_${u}` });
          files[`schema/${s}/tables/extra_${u}.sql`] = sql + '\n';
          script.push(sql);
          revert.push(`DROP TABLE ${s}.extra_${u};`);
          break;
        }
      }
    }
    if (child !== st.child)
      files[`schema/${s}/tables/unit_${u}.sql`] = `${st.parent}\n\n${child}\n\n${st.idx1}\n${st.idx2}\n`;
    if (fsql !== st.fsql || fpl !== st.fpl) files[`schema/${s}/functions/unit_${u}.sql`] = `${fsql}\n\n${fpl}\n`;
    if (v2 !== st.v2) files[`schema/${s}/views/unit_${u}.sql`] = `${st.v1}\n\n${v2}\n`;
  }
  if (migration.length) {
    files['migrations/V1__bench_add_columns.sql'] = migration.join('\n') + '\n';
    files['migrations/V1__bench_add_columns.rollback.sql'] = unrun.join('\n') + '\n';
  }
  return { changes, files, script: script.join('\n\n') + '\n', revert: revert.reverse().join('\n\n') + '\n' };
}

/** Write a change set over a generated project's folder. */
export function applyChangeSet(root: string, changeSet: ChangeSet): void {
  for (const [rel, text] of Object.entries(changeSet.files)) {
    const abs = join(root, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, text);
  }
}
