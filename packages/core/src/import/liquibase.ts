import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import type { ImportRole, ToolChange } from '../engine/import-role';
import type { DbeeError } from '../errors';
import { filesUnder, invalid, readText, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { HistoryEntry, ImportedFolder, ImportedMigration, ImportedRepeatable, Importer } from './imported';
import { ChangelogProblem, readChangelog } from './liquibase-changelog';
import { liquibaseChecksums, type Recomputed } from './liquibase-checksum';

/** The root changelog's usual names, looked for when `--from liquibase` names a folder. */
const ROOTS = ['db.changelog-master', 'changelog-master', 'changelog', 'master', 'db.changelog'].flatMap((n) =>
  ['xml', 'yaml', 'yml', 'json', 'sql'].map((e) => `${n}.${e}`),
);
const CHANGELOG = /\.(xml|ya?ml|json|sql)$/;

/** Change set attributes the import maps (or refuses below); any other is refused, named. */
const KNOWN = new Set([
  'id',
  'author',
  'context',
  'contextFilter',
  'labels',
  'dbms',
  'runOnChange',
  'runAlways',
  'alwaysRun',
  'failOnError',
  'runInTransaction',
  'logicalFilePath',
  'created',
  'ignore',
  'comment',
  'rollback',
  'validCheckSum',
  'splitStatements',
  'stripComments',
  'endDelimiter',
  'objectQuotingStrategy',
]);

/** One change set read, with where it is and what Liquibase's history calls it. */
interface ChangeSet {
  node: ToolChange;
  /** Its changelog, root-relative (`changes/001.xml`), and the path Liquibase records (`logicalFilePath` or that). */
  file: string;
  path: string;
  /** Notes from the include that brought it in (its context, labels). */
  inherited: string[];
}

/** What reading the changelogs collects. */
interface Reading {
  root: string;
  display: string;
  problems: DbeeError[];
  properties: Map<string, string>;
  changeSets: ChangeSet[];
  skipped: string[];
  seen: Set<string>;
}

/**
 * Liquibase: a root changelog (XML, YAML, JSON or formatted SQL) with its `include`s and `includeAll`s, in Liquibase's
 * order. Each change set is a dbee migration (version = its place), its changes rendered to SQL by the engine as
 * Liquibase's own generator does, its `<rollback>` (or the undo Liquibase generates for the change types that have
 * one) the rollback; `runOnChange` change sets are object files (re-run when they change), contexts and labels are
 * kept as notes (dbee runs every migration on every environment, as `liquibase update` without `--contexts` does);
 * `runAlways`, `failOnError: false`, preconditions, `modifySql`, change types the engine does not render and
 * anything else dbee would run differently are refused, each with its change set and file:line.
 * History: `databasechangelog`, its `md5sum` compared where Liquibase's checksum can be recomputed exactly.
 */
export const liquibase: Importer = {
  tool: 'liquibase',
  table: 'databasechangelog',
  repair:
    'remove the failed row (or run `liquibase update` again once the change set is fixed) so that databasechangelog has no FAILED entry',
  read(path, display, engine) {
    const { root, rootFile, shown } = rootOf(path, display);
    const r: Reading = {
      root,
      display: shown,
      problems: [],
      properties: new Map(),
      changeSets: [],
      skipped: [],
      seen: new Set(),
    };
    readFile(r, rootFile, []);
    const out = toFolder(r, engine);
    throwAll(r.problems, shown);
    return out;
  },
  async history(conn, table, folder) {
    const rows = await conn.query<Record<string, unknown>>(
      `SELECT id, author, filename, md5sum, exectype, orderexecuted, dateexecuted FROM ${sqlName(table)} ORDER BY orderexecuted`,
    );
    const repeatable = new Set(folder.repeatables.map((r) => r.id));
    const entries: HistoryEntry[] = [];
    for (const row of rows.rows) {
      const id = text(row.id) ?? '';
      const author = text(row.author) ?? '';
      const filename = normalise(text(row.filename) ?? '');
      const exec = text(row.exectype) ?? 'EXECUTED';
      const label = `change set ${filename}::${id}::${author} (${table.name} order ${text(row.orderexecuted)})`;
      const match = (ids: (string | undefined)[]) =>
        ids.find((x) => {
          if (!x) return false;
          const [p, i, a] = x.split('::');
          return (
            i === id && a === author && (p === filename || filename.endsWith(`/${p}`) || p!.endsWith(`/${filename}`))
          );
        });
      // SKIPPED never ran; a runOnChange change set is an object file, adopted with the live objects.
      if (exec === 'SKIPPED' || match([...repeatable])) continue;
      const known = match(folder.migrations.map((m) => m.id));
      const md5 = text(row.md5sum);
      const version = md5 ? /^(\d+):/.exec(md5)?.[1] : undefined;
      entries.push({
        id: known ?? `${filename}::${id}::${author}`,
        checksum: md5,
        failed: exec === 'FAILED' ? 'exectype = FAILED' : null,
        label: exec === 'MARK_RAN' ? `${label}, marked as ran` : label,
        at: text(row.dateexecuted),
        unverifiable:
          md5 && version !== '9' && version !== '8'
            ? `checksum version ${version ?? '?'} (an older Liquibase's); \`liquibase update\` with 4.22 or later upgrades it to version 9, which dbee recomputes`
            : undefined,
      });
    }
    return { entries, implied: [] };
  },
};

/** The root changelog: the file named, or the folder's `db.changelog-master.xml` (…); refused otherwise. */
function rootOf(path: string, display: string): { root: string; rootFile: string; shown: string } {
  let isFile = false;
  let isDir = false;
  try {
    const s = statSync(path);
    isFile = s.isFile();
    isDir = s.isDirectory();
  } catch {
    // Said below.
  }
  if (isFile) return { root: dirname(path), rootFile: basename(path), shown: posix.dirname(display) };
  const found = isDir ? ROOTS.find((n) => existsSync(join(path, n))) : undefined;
  if (!found)
    throw invalid(
      display,
      undefined,
      isDir
        ? `${display}: no root changelog (${ROOTS.slice(0, 5).join(', ')}, …)`
        : `${display}: no such file or folder`,
      'name the root changelog file (the one `liquibase update --changelog-file` is given)',
    );
  return { root: path, rootFile: found, shown: display };
}

/** A changelog and what it includes, in order; each change set collected with its file. */
function readFile(r: Reading, rel: string, inherited: string[]): void {
  const shown = `${r.display}/${rel}`;
  if (r.seen.has(rel)) {
    r.skipped.push(`${rel} (included again: Liquibase reads a changelog once)`);
    return;
  }
  r.seen.add(rel);
  let log: ReturnType<typeof readChangelog>;
  try {
    log = readChangelog(rel, readText(join(r.root, rel)));
  } catch (e) {
    if (!(e instanceof ChangelogProblem)) throw e;
    r.problems.push(
      invalid(shown, e.line, e.message, 'fix the changelog (Liquibase itself would refuse it), then import again'),
    );
    return;
  }
  const path = log.logicalFilePath ?? rel;
  for (const e of log.entries) {
    if (e.type === 'property') property(r, e, shown);
    else if (e.type === 'preConditions') {
      const only = e.children.every((c) => c.type === 'dbms' && /(^|,)\s*postgresql\s*(,|$)/.test(c.attrs.type ?? ''));
      if (!only)
        r.problems.push(
          invalid(
            shown,
            e.line,
            "the changelog's preconditions: dbee has none",
            'remove them (a dbms check for postgresql is accepted) and import again',
          ),
        );
    } else if (e.type === 'changeSet') r.changeSets.push({ node: e, file: rel, path, inherited });
    else if (e.type === 'include' || e.type === 'includeAll') include(r, e, rel, shown, inherited);
    else if (e.type !== 'comment')
      r.problems.push(
        invalid(
          shown,
          e.line,
          `<${e.type}> in a changelog, which the import does not read`,
          'remove it, or write what it does as a change set',
        ),
      );
  }
}

function property(r: Reading, e: ToolChange, shown: string): void {
  const { name, value, dbms, context, file } = e.attrs;
  if (file || !name) {
    r.problems.push(
      invalid(
        shown,
        e.line,
        'a property read from a file, or without a name',
        'write it as <property name=… value=…/>',
      ),
    );
    return;
  }
  if (context) {
    r.problems.push(
      invalid(
        shown,
        e.line,
        `property ${name} depends on a context (${context}): dbee has no contexts`,
        'give it one value for postgresql',
      ),
    );
    return;
  }
  if (dbms && !dbmsMatches(dbms)) return;
  if (!r.properties.has(name)) r.properties.set(name, value ?? '');
}

function include(r: Reading, e: ToolChange, rel: string, shown: string, inherited: string[]): void {
  const notes = [...inherited];
  const ctx = e.attrs.context ?? e.attrs.contextFilter;
  if (ctx) notes.push(`included with context ${ctx}`);
  if (e.attrs.labels) notes.push(`included with labels ${e.attrs.labels}`);
  if (e.attrs.ignore === 'true') {
    r.skipped.push(`${rel}:${e.line}: ${e.attrs.file ?? e.attrs.path} (ignore: true)`);
    return;
  }
  const target = (e.type === 'include' ? e.attrs.file : e.attrs.path)?.replace(/^classpath:\/?/, '');
  if (!target) {
    r.problems.push(
      invalid(
        shown,
        e.line,
        `<${e.type}> without ${e.type === 'include' ? 'file' : 'path'}`,
        'name the changelog it includes',
      ),
    );
    return;
  }
  const relativeToFile = e.attrs.relativeToChangelogFile === 'true';
  const resolved = relativeToFile
    ? posix.normalize(posix.join(posix.dirname(rel), target)).replace(/^\.\//, '')
    : fromSearchPath(r.root, target);
  const abs = join(r.root, resolved);
  if (resolved.startsWith('..') || !existsSync(abs)) {
    r.problems.push(
      invalid(
        shown,
        e.line,
        `${target}: no such ${e.type === 'include' ? 'changelog' : 'folder'} under ${r.display}`,
        'import from the folder Liquibase searches (its search path), or fix the path',
      ),
    );
    return;
  }
  if (e.type === 'include') readFile(r, resolved, notes);
  else for (const f of filesUnder(abs).filter((f) => CHANGELOG.test(f))) readFile(r, posix.join(resolved, f), notes);
}

/**
 * A path Liquibase resolves on its search path, made relative to the root changelog's folder: the folder itself, or
 * one of its parents when the path starts above it (Spring Boot's `classpath:db/changelog/db.changelog-master.yaml`
 * includes `db/changelog/changes/x.yaml`, and the import is given `src/main/resources/db/changelog`).
 */
function fromSearchPath(root: string, target: string): string {
  const direct = posix.normalize(target).replace(/^\.\//, '');
  if (existsSync(join(root, direct))) return direct;
  for (let up = dirname(root), depth = 0; depth < 6 && up !== dirname(up); up = dirname(up), depth++) {
    const abs = join(up, direct);
    const rel = relative(root, abs).split('\\').join('/');
    if (!rel.startsWith('..') && existsSync(abs)) return rel;
  }
  return direct;
}

/** The change sets as dbee's files; problems collected in `r.problems`. */
function toFolder(r: Reading, engine: ImportRole): ImportedFolder {
  const migrations: ImportedMigration[] = [];
  const repeatables: ImportedRepeatable[] = [];
  const notices: string[] = [];
  const byKey = new Map(r.changeSets.map((c) => [`${c.node.attrs.id}::${c.node.attrs.author}`, c]));
  for (const cs of r.changeSets) {
    const shown = `${r.display}/${cs.file}`;
    const a = expandAll(cs.node.attrs, r.properties);
    const label = `change set ${a.id}::${a.author}`;
    const refuse = (line: number, message: string, hint: string) =>
      r.problems.push(invalid(shown, line, `${label}: ${message}`, hint));
    const before = r.problems.length;
    if (!a.id || !a.author) {
      refuse(cs.node.line, 'a change set needs an id and an author', 'add them, as Liquibase requires');
      continue;
    }
    if (a.ignore === 'true') {
      r.skipped.push(`${cs.file}:${cs.node.line}: ${label} (ignore: true)`);
      continue;
    }
    if (a.dbms && !dbmsMatches(a.dbms)) {
      r.skipped.push(`${cs.file}:${cs.node.line}: ${label} (dbms ${a.dbms}: not for postgresql)`);
      continue;
    }
    refuseUnmapped(cs, a, refuse);
    const notes = notesOf(cs, a, label, notices);
    const rendered = renderChanges(cs, r, engine, shown, label);
    const rollback = rollbackOf(cs, r, engine, shown, label, byKey);
    const checksums = checksumsOf(cs, r);
    const valid = kids(cs.node, 'validCheckSum')
      .flatMap((k) => (k.children.length ? k.children.map((x) => x.text) : [k.text]))
      .concat(a.validCheckSum ? [a.validCheckSum] : []);
    if (r.problems.length > before || !rendered) continue;
    const id = `${cs.path}::${a.id}::${a.author}`;
    const name = slug(/[A-Za-z]/.test(a.id) ? a.id : `${a.author}_${a.id}`);
    if (a.runOnChange === 'true') {
      repeatables.push({ path: `repeatable/${name}.sql`, text: `${rendered.up}\n`, file: cs.file, id });
      notices.push(
        `${cs.file}:${cs.node.line}: ${label} (runOnChange) -> repeatable/${name}.sql, re-run when it changes`,
      );
      continue;
    }
    const any = valid.some((v) => v.toUpperCase() === 'ANY');
    migrations.push({
      version: String(migrations.length + 1),
      name,
      up: rendered.up,
      down: rollback ?? rendered.down,
      file: cs.file,
      line: cs.node.line,
      id,
      notes,
      ...(typeof checksums.v9 !== 'string'
        ? { unverifiable: checksums.v9.why }
        : any
          ? { unverifiable: 'validCheckSum ANY' }
          : { checksum: checksums.v9, earlier: { '8': checksums.v8 }, alsoAccepted: [...valid, ...checksums.also] }),
    });
  }
  return { migrations, repeatables, smoke: [], variables: {}, skipped: r.skipped, notices };
}

/** Change set settings dbee would run otherwise: each refused, with why and what to do. */
const REFUSED: {
  when(a: Record<string, string>): boolean;
  message(a: Record<string, string>): string;
  hint: string;
}[] = [
  {
    when: (a) => a.runAlways === 'true' || a.alwaysRun === 'true',
    message: () => 'runAlways: dbee runs a migration once',
    hint: 'make it a migration that runs once, or a smoke check if it only checks',
  },
  {
    when: (a) => a.failOnError === 'false',
    message: () => 'failOnError: false: dbee stops at a failing statement',
    hint: 'remove the setting (or the statements that may fail)',
  },
  {
    when: (a) => !!a.objectQuotingStrategy && a.objectQuotingStrategy !== 'LEGACY',
    message: (a) =>
      `objectQuotingStrategy ${a.objectQuotingStrategy}: dbee writes names as Liquibase's LEGACY strategy does`,
    hint: 'remove it, or convert this change set to <sql>',
  },
  {
    when: (a) => a.runOnChange === 'true' && a.runInTransaction === 'false',
    message: () => 'runOnChange with runInTransaction: false',
    hint: 'run it in a transaction, or make it a migration',
  },
];

function refuseUnmapped(
  cs: ChangeSet,
  a: Record<string, string>,
  refuse: (line: number, message: string, hint: string) => void,
): void {
  for (const k of Object.keys(a).filter((k) => !KNOWN.has(k)))
    refuse(
      cs.node.line,
      `attribute ${k}, which the import does not map`,
      'remove it, or run the change set with Liquibase before the import',
    );
  for (const r of REFUSED) if (r.when(a)) refuse(cs.node.line, r.message(a), r.hint);
  const pre = kid(cs.node, 'preConditions');
  if (pre)
    refuse(
      pre.line,
      'preconditions: dbee has none',
      'remove them (write what they check as a smoke check), then import again',
    );
  const modify = kid(cs.node, 'modifySql');
  if (modify)
    refuse(
      modify.line,
      'modifySql: dbee runs the SQL as written',
      'write the change set as <sql> with the SQL it runs, then import again',
    );
}

/** What the migration's first lines say of the change set; its contexts and labels also printed (`notices`). */
function notesOf(cs: ChangeSet, a: Record<string, string>, label: string, notices: string[]): string[] {
  const notes = [`liquibase ${label} (${cs.file}${cs.path !== cs.file ? `, logicalFilePath ${cs.path}` : ''})`];
  const comment = a.comment ?? kid(cs.node, 'comment')?.text;
  if (comment) notes.push(`comment: ${comment}`);
  const ctx = a.contextFilter ?? a.context;
  const scoped = [...cs.inherited, ...(ctx ? [`context ${ctx}`] : []), ...(a.labels ? [`labels ${a.labels}`] : [])];
  if (scoped.length) {
    notes.push(
      `${scoped.join(', ')}: dbee has no contexts or labels; it runs this migration on every environment, as \`liquibase update\` without --contexts / --label-filter does`,
    );
    notices.push(
      `${cs.file}:${cs.node.line}: ${label} has ${scoped.join(', ')}: kept as a note, run on every environment`,
    );
  }
  if (a.runInTransaction === 'false')
    notes.push('runInTransaction: false (dbee runs a statement that cannot run in a transaction by itself)');
  return notes;
}

/** The change set's changes as SQL, and the undo Liquibase generates for them (null when one has none). */
function renderChanges(
  cs: ChangeSet,
  r: Reading,
  engine: ImportRole,
  shown: string,
  label: string,
): { up: string; down: string | null } | null {
  const up: string[] = [];
  const downs: (string[] | null)[] = [];
  let ok = true;
  for (const c of changesOf(cs.node)) {
    const out = renderChange(c, cs, r, engine, shown, label);
    if (!out) {
      ok = false;
      continue;
    }
    up.push(...out.up);
    downs.unshift(out.down);
  }
  if (!ok) return null;
  return {
    up: up.map(terminate).join('\n'),
    down: downs.every((d) => d !== null)
      ? `${downs
          .flat()
          .map((s) => `${s};`)
          .join('\n')}\n`
      : null,
  };
}

const NOT_CHANGES = new Set(['comment', 'rollback', 'validCheckSum', 'preConditions', 'modifySql']);

function changesOf(node: ToolChange): ToolChange[] {
  return node.children.filter((c) => !NOT_CHANGES.has(c.type));
}

function renderChange(
  c: ToolChange,
  cs: ChangeSet,
  r: Reading,
  engine: ImportRole,
  shown: string,
  label: string,
): { up: string[]; down: string[] | null } | null {
  const refuse = (message: string, hint: string) => {
    r.problems.push(invalid(shown, c.line, `${label}: ${message}`, hint));
    return null;
  };
  if (c.attrs.dbms && !dbmsMatches(c.attrs.dbms)) return { up: [], down: [] };
  if (c.type === 'sql' || c.type === 'sqlFile') {
    const body = sqlOf(c, cs, r);
    if (body === null) return refuse(`sqlFile ${c.attrs.path}: no such file`, 'restore the file, or fix its path');
    const delimiter = c.attrs.endDelimiter;
    if (delimiter && delimiter !== ';' && delimiter !== '\\n;')
      return refuse(
        `endDelimiter ${delimiter}: dbee's parser splits statements itself (dollar quotes included)`,
        'remove endDelimiter and end each statement with ;',
      );
    return { up: [expand(body, r.properties)], down: null };
  }
  if (c.type === 'tagDatabase') return { up: [`-- liquibase tag ${c.attrs.tag ?? ''}`], down: [] };
  if (c.type === 'preConditions')
    return refuse('preconditions: dbee has none', 'remove them, or write what they check as a smoke check');
  const render = engine.liquibase[c.type];
  if (!render)
    return refuse(
      `change type ${c.type}, which the import does not render`,
      'write the change set as <sql> (`liquibase update-sql` prints what Liquibase runs for it), or apply it with Liquibase before the import',
    );
  const out = render(expandChange(c, r.properties));
  if ('problem' in out) return refuse(out.problem, 'fix the change (Liquibase itself would refuse it)');
  return out;
}

/** `<rollback>`: SQL text, changes, another change set's changes, or empty (nothing to undo); null without one. */
function rollbackOf(
  cs: ChangeSet,
  r: Reading,
  engine: ImportRole,
  shown: string,
  label: string,
  byKey: Map<string, ChangeSet>,
): string | null {
  const blocks = kids(cs.node, 'rollback');
  const attr = cs.node.attrs.rollback;
  if (!blocks.length && attr === undefined) return null;
  const parts: string[] = [];
  if (attr?.trim() && attr.trim().toLowerCase() !== 'empty') parts.push(expand(attr.trim(), r.properties));
  for (const b of blocks) {
    if (b.attrs.changeSetId) {
      const other = byKey.get(`${b.attrs.changeSetId}::${b.attrs.changeSetAuthor ?? cs.node.attrs.author}`);
      if (!other) {
        r.problems.push(
          invalid(
            shown,
            b.line,
            `${label}: its rollback names change set ${b.attrs.changeSetId}, which the changelogs do not hold`,
            'name a change set of the changelogs',
          ),
        );
        continue;
      }
      const up = renderChanges(other, r, engine, shown, label);
      if (up) parts.push(up.up);
      continue;
    }
    if (b.text && b.text.toLowerCase() !== 'empty') parts.push(expand(b.text, r.properties));
    for (const c of b.children) {
      const out = renderChange(c, cs, r, engine, shown, label);
      if (out) parts.push(out.up.map(terminate).join('\n'));
    }
  }
  const body = parts
    .filter((p) => p.trim())
    .map(terminate)
    .join('\n');
  return body ? `${body}\n` : '-- Liquibase: an empty rollback (nothing to undo)\n';
}

/** A statement ended by `;` (on a line of its own when its text ends in a comment). */
function terminate(s: string): string {
  const t = s.trimEnd();
  if (t.endsWith(';') || !t) return t;
  return /--[^\n]*$/.test(t) ? `${t}\n;` : `${t};`;
}

/** A `<sql>`'s text or a `<sqlFile>`'s file (relative to its changelog or to the root), or null when missing. */
function sqlOf(c: ToolChange, cs: ChangeSet, r: Reading): string | null {
  if (c.type === 'sql') return c.attrs.sql ?? c.text;
  const abs = sqlFileOf(c, cs, r);
  return abs && existsSync(abs) ? readText(abs) : null;
}

/** Where an `<sqlFile>`'s file is (relative to its changelog or to the root), or null without a path. */
function sqlFileOf(c: ToolChange, cs: ChangeSet, r: Reading): string | null {
  const p = (c.attrs.path ?? '').replace(/^classpath:\/?/, '');
  const rel = c.attrs.relativeToChangelogFile === 'true' ? posix.join(posix.dirname(cs.file), p) : p;
  return p ? join(r.root, rel) : null;
}

/** The change set's checksums (liquibase-checksum.ts), versions 9 and 8; neither where modifySql changes the SQL. */
function checksumsOf(cs: ChangeSet, r: Reading): { v9: Recomputed; v8: Recomputed; also: string[] } {
  if (kid(cs.node, 'modifySql')) {
    const why = { why: 'modifySql changes what Liquibase runs' };
    return { v9: why, v8: why, also: [] };
  }
  const changes = changesOf(cs.node).map((c) => {
    const forPostgres = !c.attrs.dbms || dbmsMatches(c.attrs.dbms);
    if (c.type === 'sql')
      return { type: c.type, text: expand(sqlOf(c, cs, r) ?? '', r.properties), forPostgres, attrs: c.attrs };
    if (c.type !== 'sqlFile') return { type: c.type, text: null, forPostgres, attrs: c.attrs };
    const file = sqlFileOf(c, cs, r);
    const bytes = file && existsSync(file) ? readFileSync(file) : null;
    const text = sqlOf(c, cs, r);
    const expanded = text === null ? text : expand(text, r.properties);
    return {
      type: c.type,
      text,
      ...(expanded !== text && expanded !== null ? { expanded } : {}),
      bytes,
      forPostgres,
      attrs: c.attrs,
    };
  });
  return liquibaseChecksums(changes, /\.sql$/i.test(cs.file));
}

function expand(s: string, props: Map<string, string>): string {
  return s.replace(/\$\{([^}]+)\}/g, (whole, n: string) => props.get(n) ?? whole);
}

function expandAll(attrs: Record<string, string>, props: Map<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, expand(v, props)]));
}

function expandChange(c: ToolChange, props: Map<string, string>): ToolChange {
  return {
    ...c,
    attrs: expandAll(c.attrs, props),
    text: expand(c.text, props),
    children: c.children.map((k) => expandChange(k, props)),
  };
}

/** Whether a `dbms` list (`postgresql`, `!h2`, `all`, `none`) selects PostgreSQL. */
function dbmsMatches(list: string): boolean {
  const items = list.split(',').map((s) => s.trim().toLowerCase());
  if (items.includes('none')) return false;
  if (items.includes('!postgresql')) return false;
  const positive = items.filter((i) => !i.startsWith('!'));
  return positive.length === 0 || positive.includes('all') || positive.includes('postgresql');
}

function kid(n: ToolChange, type: string): ToolChange | undefined {
  return n.children.find((c) => c.type === type);
}

function kids(n: ToolChange, type: string): ToolChange[] {
  return n.children.filter((c) => c.type === type);
}

/** A history `filename` as the folder's paths are written (`classpath:` and a leading `/` dropped). */
function normalise(f: string): string {
  return f
    .replace(/^classpath:/, '')
    .replace(/^\/+/, '')
    .split('\\')
    .join('/');
}
