import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DbeeError } from '../errors';
import { sha1Hex } from './checksums';
import { invalid, readText, requireFolder, slug, throwAll } from './files';
import { sqlName, text } from './history';
import type { ImportedMigration, ImportedSmoke, Importer } from './imported';

/** One change line of sqitch.plan, with what its id is computed from. */
interface PlanChange {
  name: string;
  line: number;
  requires: string[];
  conflicts: string[];
  timestamp: string;
  planner: string;
  note: string;
  /** Tags that follow it before the next change. */
  tags: string[];
}

const CHANGE =
  /^(?<op>[+-])?(?<name>[^\s[\]@:#\\]+)(?:\s+\[(?<deps>[^\]]*)\])?\s+(?<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s+(?<planner>[^<]+?)\s+<(?<email>[^>]*)>\s*$/;
const TAG = /^@(?<name>\S+)\s+(?<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s+/;
const TRANSACTION = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\s*;\s*$/i;

/**
 * Sqitch: `sqitch.plan` (changes in order, their dependencies, tags, reworked changes as `name@tag.sql`) with
 * `deploy/`, `revert/` and `verify/` scripts. Each change is a dbee migration (version = its place in the plan), its
 * revert script the rollback, its (latest) verify script a smoke check; a script's own `BEGIN;` / `COMMIT;` lines are
 * dropped (dbee runs a migration in its transaction). History: `sqitch.changes`, one row per deployed change, checked
 * against the change ids recomputed from the plan (SHA-1 over project, change, parent, planner, date, dependencies
 * and note, as Sqitch's `App::Sqitch::Plan::Change` does) and each deploy script's SHA-1 (`script_hash`).
 */
export const sqitch: Importer = {
  tool: 'sqitch',
  table: 'sqitch.changes',
  repair: 'Sqitch records failures in sqitch.events only',
  read(folder, display) {
    requireFolder(folder, display, 'a Sqitch project (sqitch.plan with deploy/, revert/, verify/)');
    const planFile = join(folder, 'sqitch.plan');
    if (!existsSync(planFile))
      throw invalid(
        `${display}/sqitch.plan`,
        undefined,
        'no sqitch.plan in the folder',
        'name the folder of sqitch.plan',
      );
    const problems: DbeeError[] = [];
    const plan = parsePlan(readText(planFile), `${display}/sqitch.plan`, problems);
    const migrations: ImportedMigration[] = [];
    const smoke = new Map<string, ImportedSmoke>();
    let parent: string | null = null;
    const lastIndex = new Map(plan.changes.map((c, i) => [c.name, i]));
    for (const [i, c] of plan.changes.entries()) {
      const id = changeId(plan.project, plan.uri, c, parent);
      parent = id;
      const reworkTags = reworkedTags(plan.changes, i);
      const base = reworkTags ? pickReworked(folder, c.name, reworkTags) : `${c.name}.sql`;
      const deployPath = join(folder, 'deploy', base);
      if (!existsSync(deployPath)) {
        problems.push(
          invalid(`${display}/sqitch.plan`, c.line, `change ${c.name}: no deploy/${base}`, 'restore the deploy script'),
        );
        continue;
      }
      const deploy = script(folder, 'deploy', base, display, problems);
      const revert = existsSync(join(folder, 'revert', base))
        ? script(folder, 'revert', base, display, problems)
        : null;
      const notes = [
        `sqitch change ${c.name}${reworkTags ? ` (reworked: deploy/${base})` : ''}: ${c.note || 'no note'}`,
      ];
      if (c.requires.length) notes.push(`requires ${c.requires.join(', ')}`);
      if (c.tags.length)
        notes.push(`followed by the tag${c.tags.length > 1 ? 's' : ''} ${c.tags.map((t) => `@${t}`).join(', ')}`);
      migrations.push({
        version: String(i + 1),
        name: slug(c.name),
        up: deploy,
        down: revert,
        file: `deploy/${base}`,
        id,
        checksum: sha1Hex(readFileSync(deployPath)),
        notes,
      });
      if (lastIndex.get(c.name) === i && existsSync(join(folder, 'verify', base))) {
        const body = script(folder, 'verify', base, display, problems);
        if (body.trim())
          smoke.set(c.name, {
            path: `smoke/${slug(c.name)}.sql`,
            text: `-- name: sqitch verify ${c.name}\n${body}`,
            file: `verify/${base}`,
          });
      }
    }
    throwAll(problems, display);
    return {
      migrations,
      repeatables: [],
      smoke: [...smoke.values()],
      variables: {},
      skipped: [],
      project: plan.project,
    };
  },
  async history(conn, table, folder) {
    const project = folder.project ?? '';
    const r = await conn.query<Record<string, unknown>>(
      `SELECT change_id, change, script_hash, committed_at FROM ${sqlName(table)} WHERE project = '${project.replace(/'/g, "''")}' ORDER BY committed_at`,
    );
    return {
      entries: r.rows.map((row) => ({
        id: text(row.change_id) ?? '',
        checksum: text(row.script_hash),
        failed: null,
        label: `change ${text(row.change)} (${table.name}, id ${text(row.change_id)})`,
        at: text(row.committed_at),
      })),
      implied: [],
    };
  },
};

/** sqitch.plan's pragmas and changes; a line it cannot read, or a change to remove (`-name`), is a problem. */
function parsePlan(raw: string, shown: string, problems: DbeeError[]) {
  let project = '';
  let uri: string | null = null;
  const changes: PlanChange[] = [];
  for (const [i, full] of raw.split(/\r?\n/).entries()) {
    const hash = full.indexOf('#');
    const note = hash >= 0 ? unescapeNote(full.slice(hash + 1).replace(/^[ \t]+/, '')) : '';
    const line = (hash >= 0 ? full.slice(0, hash) : full).trim();
    if (!line) continue;
    const pragma = /^%\s*([\w-]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (pragma) {
      if (pragma[1] === 'project') project = pragma[2]!;
      else if (pragma[1] === 'uri') uri = pragma[2]!;
      continue;
    }
    const tag = TAG.exec(line);
    if (tag) {
      changes[changes.length - 1]?.tags.push(tag.groups!.name!);
      continue;
    }
    const c = CHANGE.exec(line);
    if (!c || c.groups!.op === '-') {
      problems.push(
        invalid(
          shown,
          i + 1,
          c
            ? `change ${c.groups!.name} is marked for removal (-), which dbee does not import`
            : 'a line of sqitch.plan the import cannot read',
          c
            ? 'deploy the plan up to it with Sqitch or remove the line'
            : 'check it with `sqitch plan`, then import again',
        ),
      );
      continue;
    }
    const g = c.groups!;
    const deps = (g.deps ?? '').split(/\s+/).filter(Boolean);
    changes.push({
      name: g.name!,
      line: i + 1,
      requires: deps.filter((d) => !d.startsWith('!')),
      conflicts: deps.filter((d) => d.startsWith('!')).map((d) => d.slice(1)),
      timestamp: g.ts!,
      planner: `${g.planner!.trim()} <${g.email!}>`,
      note,
      tags: [],
    });
  }
  if (!project) problems.push(invalid(shown, 1, 'no %project pragma', 'sqitch.plan starts with %project=<name>'));
  return { project, uri, changes };
}

function unescapeNote(s: string): string {
  return s.replace(/\\([nr\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** Sqitch's change id: SHA-1 of `change <length>\0<info>` (`App::Sqitch::Plan::Change`, `info` and `id`). */
export function changeId(project: string, uri: string | null, c: PlanChange, parent: string | null): string {
  const info = [
    `project ${project}`,
    ...(uri ? [`uri ${uri}`] : []),
    `change ${c.name}`,
    ...(parent ? [`parent ${parent}`] : []),
    `planner ${c.planner}`,
    `date ${c.timestamp}`,
    ...(c.requires.length ? [`requires\n  + ${c.requires.join('\n  + ')}`] : []),
    ...(c.conflicts.length ? [`conflicts\n  - ${c.conflicts.join('\n  - ')}`] : []),
    ...(c.note ? ['', c.note] : []),
  ].join('\n');
  const content = Buffer.from(info, 'utf8');
  return sha1Hex(Buffer.concat([Buffer.from(`change ${content.length}\0`), content]));
}

/** The tags after change `i` up to its next instance, when it is reworked later in the plan; else null. */
function reworkedTags(changes: PlanChange[], i: number): string[] | null {
  const next = changes.findIndex((c, j) => j > i && c.name === changes[i]!.name);
  if (next < 0) return null;
  return changes.slice(i, next).flatMap((c) => c.tags);
}

/** A reworked change's scripts: `name@tag.sql` for the first of its rework tags that has a deploy script. */
function pickReworked(folder: string, name: string, tags: string[]): string {
  const names = tags.map((t) => `${name}@${t}.sql`);
  return names.find((n) => existsSync(join(folder, 'deploy', n))) ?? names[0] ?? `${name}.sql`;
}

/** A script without its transaction lines; a psql meta-command is refused (dbee sends SQL, not psql input). */
function script(folder: string, kind: string, base: string, display: string, problems: DbeeError[]): string {
  const raw = readText(join(folder, kind, base));
  const lines = raw.split(/\r?\n/);
  for (const [i, l] of lines.entries())
    if (/^\s*\\/.test(l))
      problems.push(
        invalid(
          `${display}/${kind}/${base}`,
          i + 1,
          'a psql meta-command, which dbee does not run',
          'write it as SQL (psql variables as dbee {{variables}}) and import again',
        ),
      );
  return `${lines
    .filter((l) => !TRANSACTION.test(l))
    .join('\n')
    .trimEnd()}\n`;
}
