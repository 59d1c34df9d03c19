import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DbeeError } from '../errors';
import {
  COMMAND_DEFINITIONS,
  COMMANDS,
  checkCommandOptions,
  executorSchema,
  optionEntries,
  parseCommandOptions,
} from '.';

describe('command option schemas', () => {
  it('every option of every command was built with the helpers (so the CLI, Nx and the README know it)', () => {
    for (const command of COMMANDS) {
      for (const entry of optionEntries(COMMAND_DEFINITIONS[command])) {
        expect(entry.description, `${command} ${entry.name}`).toMatch(/\.$/);
        expect(
          entry.cli !== null || entry.positional || entry.json === null,
          `${command} ${entry.name}: an Nx option without a flag`,
        ).toBe(true);
      }
    }
  });

  it('types and converts what the command line gives as text, and applies defaults', () => {
    expect(
      parseCommandOptions('deploy', {
        project: 'sales',
        waitForLock: '30',
        countdownFrom: 0,
        allowHazards: ['data-loss,long-lock', 'index-build'],
      }),
    ).toEqual({
      project: 'sales',
      dryRun: false,
      assumeYes: false,
      testRollback: false,
      prune: false,
      safe: false,
      continueOnError: false,
      waitForLock: 30,
      countdownFrom: 0,
      allowHazards: ['data-loss', 'long-lock', 'index-build'],
      withNeeded: false,
    });
    // A repeatable text: one given alone is a list of one (what the CLI and Nx give differ).
    expect(parseCommandOptions('deploy', { project: 'sales', objects: 'function:s.f' }).objects).toEqual([
      'function:s.f',
    ]);
    expect(parseCommandOptions('plan', { project: 'sales', objects: ['a.*', 'b.*'] }).objects).toEqual(['a.*', 'b.*']);
    expect(parseCommandOptions('rollback', { project: 'sales', to: 12 }).to).toBe('12');
    expect(parseCommandOptions('diff', { project: 'sales' }).format).toBe('text');
    expect(parseCommandOptions('plan', { project: 'sales' }).format).toBeUndefined();
  });

  it('refuses with a user error (exit 1) that names each option and what it expects', () => {
    let error: unknown;
    try {
      parseCommandOptions('deploy', { project: 'sales', ifExists: 'nuke', waitForLock: 'soon', colour: 'red' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbeeError);
    expect((error as DbeeError).exitCode).toBe(1);
    expect((error as DbeeError).format()).toBe(
      [
        'invalid options for deploy:',
        '  - --wait-for-lock: expected a number of seconds, got "soon"',
        '  - --if-exists: expected one of raise, rename, drop, skip, ignore, got "nuke"',
        '  - colour: unknown option (known: <project>, --env, --dry-run, --assume-yes, --ticket, --no-verify, --test-rollback, --queries, --new-queries, --dbt, --wait-for-lock, --no-deps, --package, --if-exists, --allow-hazards, --prune, --safe, --continue-on-error, --countdown-from, --report, --canary, --concurrency, --max-failures, --strategy, --release, --labels, --objects, --objects-from, --with-needed, --shard)',
        '  hint: see dbee deploy --help; nothing was done',
      ].join('\n'),
    );
    expect(() => parseCommandOptions('smoke-test', { project: 'sales', format: 'xml' })).toThrow(
      '--format: expected one of text, json, got "xml"',
    );
    expect(() => parseCommandOptions('disable', { project: 'sales' })).toThrow('missing <object>');
  });

  it('names options the Nx way for the executors', () => {
    expect(
      checkCommandOptions(
        'deploy',
        { project: 'sales', countdownFrom: -1, allowHazards: ['data-loss', 'fun'] },
        'name',
      ),
    ).toEqual({
      ok: false,
      problems: [
        'allowHazards[1]: expected one of data-loss, table-rewrite, long-lock, backward-incompatible, index-build, rls-bypass, got "fun"',
        'countdownFrom: expected a number of seconds, at least 0, got -1',
      ],
    });
  });

  it('keeps test seams (now) out of the command line and out of schema.json', () => {
    const now = new Date('2026-11-21T10:30:00Z');
    expect(parseCommandOptions('deploy', { project: 'sales', now }).now).toBe(now);
    expect(Object.keys(executorSchema('deploy').properties as object)).not.toContain('now');
  });
});

/** Every module `file` loads at run time (type-only imports excluded), followed through relative imports. */
function runtimeImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^(?:import|export) (?!type )[^;]*? from '([^']+)';/gms)) {
    const spec = m[1]!;
    if (!spec.startsWith('.')) seen.add(spec);
    else {
      const base = resolve(dirname(file), spec);
      const target = [`${base}.ts`, join(base, 'index.ts')].find((f) => {
        try {
          return readFileSync(f) !== null;
        } catch {
          return false;
        }
      })!;
      runtimeImports(target, seen);
    }
  }
  return seen;
}

describe('the options module', () => {
  it('loads zod and errors.ts only (the CLI reads it for --help before any engine or parser)', () => {
    const loaded = [...runtimeImports(join(__dirname, 'index.ts'))].map((f) =>
      f.startsWith('/') ? relative(join(__dirname, '..'), f) : f,
    );
    // Not even config/schema.ts (zod only, ~7 ms): enum values come from config/kinds.ts (a module that imports
    // nothing; `check` reads it without the options), checked by type in options/common.ts.
    expect(loaded.filter((f) => !f.startsWith('options/') && !f.endsWith('.test.ts')).sort()).toEqual([
      'config/kinds.ts',
      'errors.ts',
      'zod',
    ]);
  });
});
