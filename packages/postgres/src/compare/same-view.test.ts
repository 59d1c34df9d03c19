import { beforeAll, describe, expect, it } from 'vitest';
import { loadPostgresParser } from '../parse';
import { sameViewDefinition } from './same-view';

beforeAll(() => loadPostgresParser());

describe('sameViewDefinition', () => {
  it('treats PostgreSQL 15 and 18 printings of a single-relation view as the same', () => {
    expect(sameViewDefinition(' SELECT t.id,\n    t.qty\n   FROM a.t;', ' SELECT id,\n    qty\n   FROM a.t;')).toBe(
      true,
    );
    expect(
      sameViewDefinition(
        ' SELECT c.id\n   FROM core.customers c\n  WHERE c.status = 1;',
        ' SELECT id\n   FROM core.customers c\n  WHERE status = 1;',
      ),
    ).toBe(true);
  });

  it('still sees real differences', () => {
    expect(sameViewDefinition(' SELECT t.id FROM a.t;', ' SELECT t.qty FROM a.t;')).toBe(false);
    expect(
      sameViewDefinition(" SELECT id FROM a.t WHERE status = 'x';", " SELECT id FROM a.t WHERE status = 'y';"),
    ).toBe(false);
    // Two relations: qualifiers carry meaning and are kept.
    expect(sameViewDefinition(' SELECT t.id FROM a.t, a.u;', ' SELECT u.id FROM a.t, a.u;')).toBe(false);
  });
});
