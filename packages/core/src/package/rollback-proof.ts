import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError, ExitCode } from '../errors';

/**
 * The file a package's rollback proof is kept in, beside its manifest (not listed in it: it is added once the
 * package is built, by `plan --out --test-rollback` or `deploy --dry-run --package --test-rollback`).
 */
export const ROLLBACK_PROOF = 'rollback-proof.json';

/** What the proof is read against: a loaded package's folder and plan checksum (package.ts's `LoadedPackage`). */
type ProvenPackage = { path: string; manifest: { planChecksum: string } };

/** What `rollback-proof.json` says: the plan whose rollback was proven, where, when, and what was declared irreversible. */
export interface RollbackProof {
  planChecksum: string;
  /** The environment whose target the copy was made from. */
  environment: string;
  testedAt: string;
  durationMs: number;
  /** Steps declared irreversible on purpose (`-- dbee:irreversible <reason>`). */
  irreversible: { key: string; reason: string }[];
}

export function writeRollbackProof(dir: string, proof: RollbackProof): void {
  writeFileSync(join(dir, ROLLBACK_PROOF), `${JSON.stringify(proof, null, 2)}\n`);
}

/** The package's proof, when it has one for its own plan. */
export function readRollbackProof(pkg: ProvenPackage): RollbackProof | null {
  const file = join(pkg.path, ROLLBACK_PROOF);
  if (!existsSync(file)) return null;
  try {
    const proof = JSON.parse(readFileSync(file, 'utf8')) as RollbackProof;
    return proof.planChecksum === pkg.manifest.planChecksum ? proof : null;
  } catch {
    return null;
  }
}

/**
 * The gate of `verify.rollback: true`: a package deployed to the environment must carry the proof that its rollback
 * was tested (docs/rollback-readiness.md). A dry run is not refused (it tests the rollback itself).
 */
export function checkRollbackProof(environment: ResolvedEnvironment, pkg: ProvenPackage | null, dryRun: boolean): void {
  if (dryRun || !pkg || !environment.verify?.rollback || readRollbackProof(pkg)) return;
  throw new DbeeError(
    `package ${pkg.path} carries no proof that its rollback was tested, and ${environment.name} requires one (verify.rollback: true)`,
    {
      code: 'GATE_ROLLBACK_UNPROVEN',
      hint: `build it with dbee plan --out ${pkg.path} --test-rollback --env <an environment like this one>, or test it with dbee deploy --dry-run --package ${pkg.path} --test-rollback`,
      exitCode: ExitCode.invalid,
    },
  );
}
