import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { ResolvedEnvironment } from '@dbee/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { SERVER_URL } from '../support/pg';

/**
 * Issue 89 item 10: `dbee preview <p> cleanup` failed now and then with "the PostgreSQL parser is not loaded yet"
 * (and the CREATEDB hint): the role's statements quote names with the parser's keyword list, on a session of its own
 * that did not wait for the parser (the engine's own sessions do). A CLI process starts loading the parser when it
 * makes the engine, so it failed only when the load was slower than listing the previews. Here nothing loads it: the
 * race is lost every time, and the role must load the parser itself. The suite's workers share their modules between
 * files (vitest.config.ts `isolate: false`), so an earlier file has loaded the parser: the role and the parser's
 * module are imported afresh here (an empty module registry, as executors.test.ts does), and emptied again after.
 */
let isPostgresParserLoaded: () => boolean;
let postgresPreview: typeof import('../../packages/postgres/src/preview/postgres-preview').postgresPreview;
beforeAll(async () => {
  vi.resetModules();
  ({ isPostgresParserLoaded } = await import('../../packages/postgres/src/parse/libpg'));
  ({ postgresPreview } = await import('../../packages/postgres/src/preview/postgres-preview'));
});
afterAll(() => {
  vi.resetModules();
});

describe('preview role on a process whose parser is not loaded yet', () => {
  it('creates, lists and drops a preview', async () => {
    expect(isPostgresParserLoaded()).toBe(false);
    const prefix = `tpp_${randomBytes(3).toString('hex')}_`;
    const base = {
      name: 'test',
      engine: 'postgres',
      connection: { url: SERVER_URL },
      variables: {},
      gates: {},
    } as unknown as ResolvedEnvironment;
    const place = { workspaceRoot: tmpdir(), directory: tmpdir(), prefix };
    const record = { name: `${prefix}pr_1`, base: 'test', branch: 'pr-1', createdAt: new Date().toISOString() };
    expect(await postgresPreview.create(base, place, record)).toBe(true);
    try {
      await postgresPreview.markMade(base, place, record.name);
      expect(await postgresPreview.list(base, place)).toEqual([record]);
    } finally {
      expect(await postgresPreview.drop(base, place, record.name)).toBe(true);
    }
    expect(await postgresPreview.list(base, place)).toEqual([]);
  });
});
