import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DbeeError } from '../errors';
import { PLAN_FORMAT_VERSION, type Plan, type PlanStep } from '../plan/plan';
import { canonicalJson, checksumOfSerialized, planChecksum, serializePlan } from '../plan/serialize';
import { sha256 } from '../sources/checksum';
import type { SourceFile } from '../sources/discover';
import { ROLLBACK_PROOF } from './rollback-proof';
import { RELEASE_FILE, type ReleaseInfo } from './release';

export const PACKAGE_FORMAT_VERSION = 1;
export const MANIFEST = 'manifest.json';
/** Folder of a package that holds promotion records; not covered by the manifest (records are added after planning). */
export const PROMOTION_FOLDER = 'promotion';

/** `manifest.json` of a package: what it contains and the checksum of every file. */
export interface PackageManifest {
  formatVersion: typeof PACKAGE_FORMAT_VERSION;
  planFormatVersion: typeof PLAN_FORMAT_VERSION;
  tool: { name: 'dbee'; version: string };
  engine: string;
  projects: string[];
  sourceCommit: string | null;
  planChecksum: string;
  steps: {
    order: number;
    project: string;
    key: string;
    action: string;
    script: string;
    rollback: string | null;
    checksum: string;
    transactional: boolean;
    hazards: string[];
  }[];
  /** Path (relative to the package, `/`-separated) → SHA-256 of its bytes; covers every file but the manifest. */
  files: Record<string, string>;
  /** Checksums of the source files the plan was made from (workspace-relative path → SHA-256). */
  sources: Record<string, string>;
}

/** A package read from disk and verified. */
export interface LoadedPackage {
  path: string;
  manifest: PackageManifest;
  plan: Plan;
  /** `release.json`: null for packages written by an older dbee (they carry no smoke checks nor preconditions). */
  release: ReleaseInfo | null;
  /** The package's smoke check files per project, as `SourceFile`s (their source paths, for messages). */
  smoke: Map<string, SourceFile[]>;
}

function slug(step: PlanStep): string {
  return step.key.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
}

/** What `writePackage` is given besides the plan. */
export interface PackageOptions {
  toolVersion: string;
  sources: { path: string; text: string }[];
  release?: ReleaseInfo;
  smoke?: Map<string, SourceFile[]>;
}

/**
 * Write a plan as a package folder: manifest.json, plan.json, numbered step scripts, rollback scripts and a
 * summary. Byte-identical for the same plan (no timestamps). An existing folder is replaced only if it is a
 * package (has a manifest) or empty. The manifest is written last, once every other file is: a folder whose writing
 * failed has none (and is removed), so it is never read as a package.
 */
export function writePackage(dir: string, plan: Plan, options: PackageOptions): PackageManifest {
  clearTarget(dir);
  try {
    const files: Record<string, string> = {};
    const made = packageContents(plan, options, fileWriter(dir, files));
    const manifest: PackageManifest = { ...made, files: Object.fromEntries(Object.entries(files).sort(byPath)) };
    writeFileSync(join(dir, MANIFEST), canonicalJson(manifest));
    return manifest;
  } catch (cause) {
    removePartial(dir);
    const code = (cause as NodeJS.ErrnoException).code;
    if (!code || !(cause as NodeJS.ErrnoException).syscall) throw cause;
    throw new DbeeError(`could not write the package to ${dir} (${(cause as Error).message}); nothing of it was kept`, {
      code: 'PACKAGE_WRITE_FAILED',
      hint: 'check that the folder can be written and the disk has room',
      cause,
    });
  }
}

/** Removes what a failed `writePackage` wrote; a folder it cannot remove has no manifest, so is no package either. */
function removePartial(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // Reported by the caller's error: the write failed.
  }
}

/** Refuses a folder that is not a package (nor empty); removes the package it holds. */
function clearTarget(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length && !entries.includes(MANIFEST)) {
    throw new DbeeError(`${dir} exists and is not a dbee package; refusing to overwrite it`, {
      code: 'PACKAGE_TARGET_EXISTS',
      hint: 'choose an empty or new folder for --out',
    });
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes a package's files under `dir` as they are made (none is held: a package of 10,000 steps is 20,000 texts),
 * recording each one's SHA-256 in `files`; each folder is made once (a mkdir per file was a tenth of the writing).
 */
function fileWriter(dir: string, files: Record<string, string>): (rel: string, text: string) => void {
  const made = new Set<string>();
  // The folder's path is normalised once: a `join` per file was a tenth of the writing's CPU in `plan --out`.
  const root = join(dir, sep);
  const native = sep === '/' ? (rel: string) => rel : (rel: string) => rel.split('/').join(sep);
  return (rel, text) => {
    const folder = rel.slice(0, Math.max(0, rel.lastIndexOf('/')));
    if (!made.has(folder)) mkdirSync(join(dir, folder), { recursive: true }), made.add(folder);
    writeFileSync(root + native(rel), text);
    files[rel] = sha256(text);
  };
}

/** Makes a package's files, each given to `write` (package-relative path, text); returns the rest of its manifest. */
function packageContents(
  plan: Plan,
  options: PackageOptions,
  write: (rel: string, text: string) => void,
): Omit<PackageManifest, 'files'> {
  const width = Math.max(4, String(plan.steps.length).length);
  const steps: PackageManifest['steps'] = [];
  for (const step of plan.steps) {
    const n = String(step.order).padStart(width, '0');
    const script = `steps/${n}-${slug(step)}.sql`;
    const header = `-- dbee step ${step.order}: ${step.action} ${step.key}${step.source ? ` (from ${step.source.file}:${step.source.line})` : ''}\n`;
    write(
      script,
      header +
        (step.transactional ? '' : '-- runs outside a transaction\n') +
        step.statements.map((s) => s.trim() + ';\n').join('\n'),
    );
    let rollback: string | null = null;
    if (step.reverse) {
      rollback = `rollback/${n}-${slug(step)}.sql`;
      write(
        rollback,
        `-- undoes step ${step.order}: ${step.action} ${step.key}\n` +
          step.reverse.map((s) => s.trim() + ';\n').join('\n'),
      );
    }
    steps.push({
      order: step.order,
      project: step.project,
      key: step.key,
      action: step.action,
      script,
      rollback,
      checksum: step.checksum,
      transactional: step.transactional,
      hazards: step.hazards.map((h) => h.kind),
    });
  }
  // The plan's canonical form, serialised once: plan.json, and the checksum of the manifest and the summary.
  const planJson = serializePlan(plan);
  const checksum = checksumOfSerialized(planJson);
  write('plan.json', planJson);
  let release: ReleaseInfo | undefined;
  if (options.release) {
    // The package's own smoke checks: deploy --package runs these, not the working tree's.
    const smoke: ReleaseInfo['smoke'] = {};
    for (const [project, smokeFiles] of options.smoke ?? []) {
      smoke[project] = smokeFiles.map((f) => ({ file: `smoke/${f.path}`, source: f.path }));
      for (const f of smokeFiles) write(`smoke/${f.path}`, f.text);
    }
    release = { ...options.release, smoke };
    write(RELEASE_FILE, canonicalJson(release));
  }
  write('summary.md', summary(plan, checksum, release));
  return {
    formatVersion: PACKAGE_FORMAT_VERSION,
    planFormatVersion: PLAN_FORMAT_VERSION,
    tool: { name: 'dbee', version: options.toolVersion },
    engine: plan.engine,
    projects: plan.projects,
    sourceCommit: plan.sourceCommit,
    planChecksum: checksum,
    steps,
    sources: Object.fromEntries(options.sources.map((s) => [s.path, sha256(s.text)] as const).sort(byPath)),
  };
}

const byPath = ([a]: readonly [string, string], [b]: readonly [string, string]) => (a < b ? -1 : 1);

/**
 * Read a package and verify it before anything runs: every file listed with the right checksum, no file
 * missing or added, and the plan matching its checksum. Any mismatch refuses the whole package.
 */
export function readPackage(dir: string): LoadedPackage {
  const manifestPath = join(dir, MANIFEST);
  if (!existsSync(manifestPath)) {
    throw new DbeeError(`${dir} is not a dbee package (no ${MANIFEST})`, {
      code: 'PACKAGE_INVALID',
      hint: 'build one with `dbee plan <project> --out <folder>`',
    });
  }
  let manifest: PackageManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageManifest;
  } catch (cause) {
    throw new DbeeError(`${manifestPath} is not valid JSON`, { code: 'PACKAGE_INVALID', cause });
  }
  if (manifest.formatVersion !== PACKAGE_FORMAT_VERSION || manifest.planFormatVersion !== PLAN_FORMAT_VERSION) {
    throw new DbeeError(
      `${dir}: package format ${manifest.formatVersion}/plan format ${manifest.planFormatVersion} is not supported by this dbee`,
      {
        code: 'PACKAGE_VERSION',
        hint: `this dbee reads package format ${PACKAGE_FORMAT_VERSION}, plan format ${PLAN_FORMAT_VERSION}`,
      },
    );
  }
  const problems: string[] = [];
  // Promotion records (promotion/<env>.json) are added by deployments after the package was built, and carry their
  // own signature (promotion/promotion-record.ts); they are never run. So is the rollback proof (rollback-proof.ts).
  const present = listFiles(dir).filter(
    (f) => f !== MANIFEST && f !== ROLLBACK_PROOF && !f.startsWith(`${PROMOTION_FOLDER}/`),
  );
  for (const [rel, expected] of Object.entries(manifest.files ?? {})) {
    const abs = join(dir, ...rel.split('/'));
    if (!existsSync(abs)) problems.push(`missing: ${rel}`);
    else if (sha256(readFileSync(abs)) !== expected) problems.push(`modified: ${rel}`);
  }
  for (const rel of present) if (!(rel in (manifest.files ?? {}))) problems.push(`not in the manifest: ${rel}`);
  if (problems.length) {
    throw new DbeeError(
      `package ${dir} does not match its manifest; nothing was applied:\n  ${problems.join('\n  ')}`,
      {
        code: 'PACKAGE_TAMPERED',
        hint: 'rebuild the package from the sources (dbee plan --out) instead of editing it',
        details: { problems },
      },
    );
  }
  const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as Plan;
  if (planChecksum(plan) !== manifest.planChecksum) {
    throw new DbeeError(`package ${dir}: plan.json does not match the manifest's plan checksum`, {
      code: 'PACKAGE_TAMPERED',
    });
  }
  const release = manifest.files[RELEASE_FILE]
    ? (JSON.parse(readFileSync(join(dir, RELEASE_FILE), 'utf8')) as ReleaseInfo)
    : null;
  const smoke = new Map<string, SourceFile[]>();
  for (const [project, files] of Object.entries(release?.smoke ?? {})) {
    smoke.set(
      project,
      files.map((f) => ({ path: f.source, text: readFileSync(join(dir, ...f.file.split('/')), 'utf8') })),
    );
  }
  return { path: dir, manifest, plan, release, smoke };
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const abs = join(dir, name);
    return statSync(abs).isDirectory() ? listFiles(abs, base) : [relative(base, abs).split(sep).join('/')];
  });
}

function summary(plan: Plan, checksum: string, release?: ReleaseInfo): string {
  const short = (c: string | null) => (c ? c.slice(0, 12) + (c.endsWith('-dirty') ? '-dirty' : '') : 'unknown');
  const lines = [
    `# dbee package: ${plan.projects.join(', ')}`,
    '',
    `- engine: ${plan.engine}`,
    ...(release?.base
      ? [
          `- incremental: from ${release.base.ref} (${short(release.base.commit)}) to ${release.head.ref ?? 'the working tree'} (${short(release.head.commit)})`,
        ]
      : plan.baseFingerprint
        ? [
            `- gap: from one live database (schema fingerprint ${plan.baseFingerprint.slice(0, 12)}) to the sources at ${release?.head.ref ?? 'the working tree'} (${short(plan.sourceCommit)}); it deploys only to that database, while its schema is unchanged`,
          ]
        : [`- full state of the sources at ${release?.head.ref ?? 'the working tree'} (${short(plan.sourceCommit)})`]),
    `- steps: ${plan.steps.length}`,
    `- checksum: ${checksum}`,
    ...(release
      ? [
          `- variables: ${Object.entries(release.variables)
            .map(([p, v]) => `${p}: ${v.names.join(', ') || 'none'}`)
            .join('; ')}`,
        ]
      : []),
    ...(release
      ? [
          `- smoke checks: ${
            Object.entries(release.smoke)
              .map(([p, f]) => `${p}: ${f.map((x) => x.source).join(', ') || 'none'}`)
              .join('; ') || 'none'
          }`,
        ]
      : []),
    '',
    '| # | action | object | transaction | hazards |',
    '| --- | --- | --- | --- | --- |',
    ...plan.steps.map(
      (s) =>
        `| ${s.order} | ${s.action} | \`${s.key}\` | ${s.transactional ? 'yes' : 'no'} | ${s.hazards.map((h) => h.kind).join(', ') || '-'} |`,
    ),
    '',
    '',
  ];
  if (release?.preconditions.length) {
    lines.push(
      `## Preconditions`,
      '',
      `A target environment's ledger must hold each of these objects as it was at ${release.base!.ref} (or already as at head: its steps are skipped); deploy refuses, before anything runs, an environment that does not.`,
      '',
      '| project | object | at base | at head |',
      '| --- | --- | --- | --- |',
      ...release.preconditions.map(
        (p) =>
          `| ${p.project} | \`${p.key}\` | ${p.base ? 'present' : 'absent'} | ${p.head ? (p.base ? 'changed' : 'created') : 'dropped'} |`,
      ),
      '',
    );
  }
  lines.push(
    `Deploy with \`dbee deploy ${release?.target ?? '<project>'} --env <env> --package <this folder>\`; files are verified against manifest.json first.`,
    '',
  );
  return lines.join('\n');
}
