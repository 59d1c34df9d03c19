import { describe, expect, test } from 'vitest';
import { parseQuerySource, querySourceKinds } from './queries';

describe('query sources', () => {
  test("a live source is a name of the engine's, with an environment or not; anything else is a path", () => {
    const live = ['stats_view'];
    expect(parseQuerySource('stats_view', live)).toEqual({ kind: 'live', name: 'stats_view', environment: null });
    expect(parseQuerySource('stats_view:qa', live)).toEqual({ kind: 'live', name: 'stats_view', environment: 'qa' });
    // A folder of queries whose name is a word stays a folder; an engine without live sources reads only paths.
    expect(parseQuerySource('queries', live)).toEqual({ kind: 'files', path: 'queries' });
    expect(parseQuerySource('stats_view', [])).toEqual({ kind: 'files', path: 'stats_view' });
    expect(parseQuerySource('logs/postgresql.CSV', live)).toEqual({ kind: 'csv-log', path: 'logs/postgresql.CSV' });
    expect(querySourceKinds({ names: live })).toBe('file|folder|log.csv|stats_view');
    expect(querySourceKinds(undefined)).toBe('file|folder|log.csv');
  });
});
