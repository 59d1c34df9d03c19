import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DbeeAggregateError, DbeeError, ERROR_CODES, type ErrorCode, ExitCode, exitCodeOf } from './errors';

const root = join(__dirname, '../../..');

describe('ERROR_CODES, the one list of error codes', () => {
  it('refuses, at compile time, a code not in the list and an exit code the code does not carry', () => {
    // The suite typechecks this file (DBEE_TEST_TYPECHECK): each line below fails to compile without its directive.
    // @ts-expect-error OPTION_INVALID was merged into OPTIONS_INVALID
    new DbeeError('x', { code: 'OPTION_INVALID' });
    // @ts-expect-error SMOKE_FAILED exits 3, never 1
    new DbeeError('x', { code: 'SMOKE_FAILED', exitCode: ExitCode.invalid });
    // A database's code exits 1 before anything is applied and 2 while applying: both compile.
    expect(new DbeeError('x', { code: 'OBJECT_MISSING', exitCode: ExitCode.applyFailed }).exitCode).toBe(2);
    expect(new DbeeError('x', { code: 'OBJECT_MISSING' }).exitCode).toBe(1);
  });

  it('gives an error the exit code of its code when the site says none', () => {
    expect(new DbeeError('x', { code: 'STEP_FAILED' }).exitCode).toBe(2);
    expect(new DbeeError('x', { code: 'SMOKE_FAILED' }).exitCode).toBe(3);
    expect(new DbeeError('x', { code: 'LOCK_BUSY' }).exitCode).toBe(1);
    const all = new DbeeAggregateError('two problems', [new DbeeError('a', { code: 'STEP_FAILED' })]);
    expect([all.code, all.exitCode]).toEqual(['STEP_FAILED', 2]);
    expect(new DbeeAggregateError('none', []).code).toBe('MULTIPLE_ERRORS');
  });

  it('keeps a carried code with the exit code the caller gives (a failure while applying exits 2)', () => {
    const refused = new DbeeError('no', { code: 'GATE_TICKET_REQUIRED' });
    expect(DbeeError.carrying(refused.code, 'again', { exitCode: ExitCode.applyFailed }).exitCode).toBe(2);
    expect(DbeeError.carrying('STEP_FAILED', 'again').exitCode).toBe(1);
  });

  it('lists only codes dbee raises, each once, with what it means', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    // Every code is named by a source file other than this list (a code nobody raises is a stale entry).
    const named = execFileSync(
      'git',
      [
        'grep',
        '-h',
        '-o',
        '-E',
        "'[A-Z][A-Z_]+'",
        '--',
        'packages/*.ts',
        'plugins/*.ts',
        ':!packages/core/src/errors.ts',
        ':!*.test.ts',
      ],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const used = new Set(named.split('\n').map((l) => l.replace(/'/g, '')));
    used.add('MULTIPLE_ERRORS'); // the aggregate's own, in errors.ts
    expect(codes.filter((c) => !used.has(c))).toEqual([]);
    for (const c of codes) expect(ERROR_CODES[c].about.length, c).toBeGreaterThan(10);
    expect([...codes].sort()).toEqual(codes);
    expect(exitCodeOf('DEADLOCK')).toBe(1);
  });
});
