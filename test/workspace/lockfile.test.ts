import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` (what CI runs) refuses a lockfile that lacks an entry for any declared optional dependency, even one
 * for another platform. The registry mirror here serves only linux builds, so `npm install` drops those
 * entries; tools/fix-lockfile-platforms.js puts them back. This catches a lockfile committed without the fix.
 */
describe('package-lock.json', () => {
  it('has an entry for every optional platform package, so npm ci accepts it', () => {
    const lock = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing = Object.values(lock.packages).flatMap((entry) =>
      Object.keys(entry.optionalDependencies ?? {}).filter((name) => !lock.packages[`node_modules/${name}`]),
    );
    expect(missing, 'run: node tools/fix-lockfile-platforms.js').toEqual([]);
  });
});
