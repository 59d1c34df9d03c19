import { z } from 'zod';
import type { PolicyRule, RawFinding } from '../rule';
import { codeOnly, lineOf } from '../sql-text';
import { qualified } from './shared';

/**
 * A `*` in a select list: after SELECT (or DISTINCT), a comma or `alias.`, and before a comma, FROM or the end. The
 * catalog cannot tell (PostgreSQL expands `*` when the view is created), so the rule reads the view's source.
 */
const STAR = /(\bselect\s+(?:distinct\s+)?|,\s*|[\w"]+\s*\.\s*)\*(?=\s*(?:,|\bfrom\b|$|\)))/gi;

/** Views list their columns: no `SELECT *`. */
export const viewNoSelectStar: PolicyRule<Record<string, never>> = {
  name: 'view-no-select-star',
  category: 'views',
  summary: 'Views name their columns: no SELECT * or t.*.',
  why: 'PostgreSQL expands * once, when the view is created: a column added later is not in the view, and a view over it cannot drop it.',
  bytebase: 'statement.select.no-select-all',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY, a int);\nCREATE VIEW app.v AS SELECT * FROM app.t;',
    allow:
      'CREATE TABLE app.t (id bigint PRIMARY KEY, a int);\nCREATE VIEW app.v AS SELECT id, a, count(*) OVER () AS n FROM app.t;',
  },
  check(subject) {
    const findings: RawFinding[] = [];
    for (const view of subject.views()) {
      for (const st of subject.statements(view.key)) {
        if (st.action !== 'create' && st.action !== 'create-or-replace') continue;
        const code = codeOnly(st.sql);
        const m = STAR.exec(code);
        STAR.lastIndex = 0;
        if (!m) continue;
        findings.push({
          object: view.key,
          location: { file: st.location.file, line: st.location.line + lineOf(code, m.index) - 1, column: 1 },
          message: `view ${qualified(view.key)} selects *: list the columns (PostgreSQL fixes * when the view is created)`,
        });
        break;
      }
    }
    return findings;
  },
};
