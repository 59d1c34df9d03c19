import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type fg from 'fast-glob';
import { DbeeAggregateError, DbeeError } from '../errors';
import type { DbProject } from '../config/workspace';
import { fastGlob, sqlFilesOf } from '../config/walk';

/** Editor and OS litter that is never a source, wherever it sits. */
export const LITTER = [
  '**/.*',
  '**/*~',
  '**/#*#',
  '**/*.swp',
  '**/*.swo',
  '**/*.bak',
  '**/*.orig',
  '**/Thumbs.db',
  '**/desktop.ini',
];
export const MIGRATIONS_DIR = 'migrations';
export const SMOKE_DIR = 'smoke';
/** A project's baseline (`sources/baseline.ts`), inside its migrations folder. */
export const BASELINE_FILE = `${MIGRATIONS_DIR}/baseline.yaml`;

/** A file of the project: path relative to the workspace root and its text. */
export interface SourceFile {
  /** Workspace-relative, `/`-separated: how files are named in messages, plans and packages. */
  path: string;
  text: string;
}

/** A versioned migration and its rollback script. */
export interface MigrationFile extends SourceFile {
  version: string;
  /** Version as numbers for ordering: `1_2` and `1.2` are both [1, 2]. */
  versionParts: number[];
  description: string;
  rollback: SourceFile;
}

export interface ProjectSources {
  objects: SourceFile[];
  migrations: MigrationFile[];
  smoke: SourceFile[];
  /** `migrations/baseline.yaml` (read by `readBaseline`), null when the project has none. */
  baseline: SourceFile | null;
}

const MIGRATION = /^V(\d+(?:[._]\d+)*)__(.+?)\.sql$/;
const ROLLBACK_SUFFIX = /^V(\d+(?:[._]\d+)*)__(.+?)\.rollback\.sql$/;
const UNDO = /^U(\d+(?:[._]\d+)*)__(.+?)\.sql$/;

/**
 * Find a project's sources, in a deterministic order (sorted by path). Object files: every `*.sql` outside
 * `migrations/` and `smoke/` (or the project's `sources` globs); migrations: `migrations/V<version>__<desc>.sql`
 * with `V<version>__<desc>.rollback.sql` or `U<version>__<desc>.sql`; smoke checks: `smoke/*.{yaml,yml,sql}`.
 *
 * A misnamed, duplicated or unpaired file of `migrations/` is an error, all of them thrown at once; given `problems`,
 * they are collected there instead and the other sources are returned (the language server shows each at its file).
 */
export function discoverSources(
  workspaceRoot: string,
  project: DbProject,
  read: (abs: string) => string = (p) => readFileSync(p, 'utf8'),
  problems?: DbeeError[],
): ProjectSources {
  const base = project.relativeRoot ? project.relativeRoot + '/' : '';
  const opts = { cwd: project.root, ignore: LITTER, dot: false, onlyFiles: true };
  const load = (rel: string): SourceFile => ({ path: base + rel, text: read(join(project.root, rel)) });
  const globs = project.config.sources;
  if (globs) checkGlobs(project, globs);
  const inside = insideWorkspace(workspaceRoot, project);
  const objects = (globs ? globbed(globs, opts).filter(inside.file) : walked(project, inside)).map(load);
  // Most projects have no smoke or migrations folder: no glob then (compiling one costs more than the walk).
  const under = (dir: string, glob: string) =>
    existsSync(join(project.root, dir))
      ? fastGlob()
          .sync([`${dir}/${glob}`], opts)
          .sort()
          .filter(inside.file)
      : [];
  const smoke = under(SMOKE_DIR, '**/*.{yaml,yml,sql}').map(load);
  const inMigrations = under(MIGRATIONS_DIR, '**/*');
  const migrations = discoverMigrations(
    inMigrations.filter((f) => f !== BASELINE_FILE),
    base,
    load,
    problems,
  );
  const baseline = inMigrations.includes(BASELINE_FILE) ? load(BASELINE_FILE) : null;
  return { objects, migrations, smoke, baseline };
}

/** The files of the project's own `sources:` globs. */
function globbed(globs: string[], opts: fg.Options): string[] {
  return fastGlob()
    .sync(globs, { ...opts, ignore: [...LITTER, `${MIGRATIONS_DIR}/**`, `${SMOKE_DIR}/**`, '**/node_modules/**'] })
    .sort();
}

/**
 * The default sources (`**\/*.sql`) by one walk of the project's folder (`sqlFilesOf`). A file no link led to is inside
 * the workspace when the project's folder is: its real path is looked up only when a link led to it, or when the
 * project's folder itself resolves outside (then the first file says so, as with globs).
 */
function walked(project: DbProject, inside: Inside): string[] {
  const folderInside = inside.folder();
  return sqlFilesOf(project.root)
    .filter((f) => (f.viaLink || !folderInside ? inside.file(f.path) : true))
    .map((f) => f.path);
}

/** `sources:` globs are relative to the project: an absolute one is a user error, with the db.yaml line. */
function checkGlobs(project: DbProject, globs: string[]): void {
  const errors: DbeeError[] = [];
  for (const [i, glob] of globs.entries()) {
    if (isAbsolute(glob) || /^[A-Za-z]:[\\/]/.test(glob)) {
      errors.push(
        new DbeeError(`sources[${i}] "${glob}" is an absolute path`, {
          code: 'SOURCES_OUTSIDE',
          location: project.config.sources ? project.file.locate(['sources', i]) : { file: project.file.displayPath },
          hint: 'write source globs relative to the project folder (e.g. "schema/**/*.sql")',
        }),
      );
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} problems in sources`, errors);
}

/** `file`: a project-relative file is inside the workspace (else throws); `folder`: the project's folder is (or is it). */
interface Inside {
  file: (rel: string) => boolean;
  folder: () => boolean;
}

/**
 * A filter of project-relative paths that refuses (throws) any file that resolves outside the workspace, after
 * symbolic links: a `../` glob or a symlinked folder must never make dbee read, let alone deploy, a file from
 * elsewhere on the machine. The error names the db.yaml line of the globs and the file, never its contents.
 */
function insideWorkspace(workspaceRoot: string, project: DbProject): Inside {
  const root = realOrSelf(workspaceRoot);
  const realPathOf = realPaths();
  const within = (real: string) => {
    const path = relative(root, real);
    return { path, inside: !path.startsWith('..') && !isAbsolute(path) };
  };
  const file = (rel: string) => {
    const real = realPathOf(join(project.root, rel));
    const at = within(real);
    if (at.path && at.inside) return true;
    throw new DbeeError(
      `${rel} resolves outside the workspace (${real === join(project.root, rel) ? 'a ../ path' : 'through a symbolic link'})`,
      {
        code: 'SOURCES_OUTSIDE',
        location: globLocation(project, rel),
        hint: `sources must be files inside the workspace (${workspaceRoot}); copy the file into the project, or remove the glob or the link`,
      },
    );
  };
  return { file, folder: () => within(realOrSelf(project.root)).inside };
}

/** The db.yaml line of the glob that climbs out (`../`), else of `sources:`, else the db.yaml itself. */
function globLocation(project: DbProject, rel: string) {
  const globs = project.config.sources;
  if (!globs) return { file: project.file.displayPath };
  const i = rel.startsWith('..') ? globs.findIndex((g) => g.split('/').includes('..')) : -1;
  return project.file.locate(i >= 0 ? ['sources', i] : ['sources']);
}

/**
 * `realOrSelf` of many files, each folder resolved once: a file that is not itself a symbolic link (its folder's
 * listing says so) resolves to its folder's real path and its name. Resolving every file's path component by
 * component cost a lstat per component per file (80 ms for the 2,300 files of a 5,000-object project).
 */
function realPaths(): (path: string) => string {
  const folders = new Map<string, { real: string; links: Set<string> | null }>();
  return (path) => {
    const dir = dirname(path);
    let folder = folders.get(dir);
    if (!folder) {
      let links: Set<string> | null = null;
      try {
        links = new Set(
          readdirSync(dir, { withFileTypes: true })
            .filter((e) => e.isSymbolicLink())
            .map((e) => e.name),
        );
      } catch {
        // Unreadable: each file is resolved on its own.
      }
      folders.set(dir, (folder = { real: realOrSelf(dir), links }));
    }
    const name = basename(path);
    return folder.links && !folder.links.has(name) ? join(folder.real, name) : realOrSelf(path);
  };
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function discoverMigrations(
  files: string[],
  base: string,
  load: (rel: string) => SourceFile,
  problems?: DbeeError[],
): MigrationFile[] {
  const forward = new Map<string, { rel: string; version: string; description: string }>();
  const rollbacks = new Map<string, string>();
  const errors: DbeeError[] = [];
  for (const rel of files) {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    const back = ROLLBACK_SUFFIX.exec(name) ?? UNDO.exec(name);
    const fwd = back ? null : MIGRATION.exec(name);
    const version = (back ?? fwd)?.[1];
    if (!version) {
      errors.push(
        new DbeeError(`unrecognised file in ${MIGRATIONS_DIR}/: ${name}`, {
          code: 'MIGRATION_NAME',
          location: { file: base + rel },
          hint: 'name migrations V<version>__<description>.sql, with a rollback V<version>__<description>.rollback.sql or U<version>__<description>.sql',
        }),
      );
      continue;
    }
    const id = canonicalVersion(version);
    const target = back ? rollbacks : forward;
    if (target.has(id)) {
      errors.push(
        new DbeeError(`two ${back ? 'rollback scripts' : 'migrations'} have version ${version}`, {
          code: 'MIGRATION_DUPLICATE',
          location: { file: base + rel },
        }),
      );
      continue;
    }
    if (back) rollbacks.set(id, rel);
    else forward.set(id, { rel, version, description: fwd![2]! });
  }
  const out: MigrationFile[] = [];
  for (const [id, m] of forward) {
    const rb = rollbacks.get(id);
    if (!rb) {
      errors.push(
        new DbeeError(`migration ${m.version} has no rollback script`, {
          code: 'MIGRATION_NO_ROLLBACK',
          location: { file: base + m.rel },
          hint: `add ${MIGRATIONS_DIR}/V${m.version}__${m.description}.rollback.sql (or U${m.version}__${m.description}.sql)`,
        }),
      );
      continue;
    }
    out.push({
      ...load(m.rel),
      version: m.version,
      versionParts: id.split('.').map(Number),
      description: m.description,
      rollback: load(rb),
    });
  }
  for (const [id, rel] of rollbacks) {
    if (!forward.has(id))
      errors.push(
        new DbeeError(`rollback script without a migration (version ${id})`, {
          code: 'MIGRATION_ORPHAN_ROLLBACK',
          location: { file: base + rel },
        }),
      );
  }
  if (problems) problems.push(...errors);
  else if (errors.length === 1) throw errors[0]!;
  else if (errors.length > 1) throw new DbeeAggregateError(`${errors.length} problems in ${MIGRATIONS_DIR}/`, errors);
  return out.sort((a, b) => compareVersions(a.versionParts, b.versionParts));
}

/** `1_2` and `1.2` → `1.2`; `01` → `1`. */
export function canonicalVersion(v: string): string {
  return v
    .split(/[._]/)
    .map((p) => String(Number(p)))
    .join('.');
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
