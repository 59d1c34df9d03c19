import { describe, expect, it } from 'vitest';
import type { Diagnostic } from './diagnostic';
import { formatDiagnostics, gccLine, githubAnnotation } from './formats';

const AT: Diagnostic = {
  file: 'db/a,b:c.sql',
  line: 7,
  column: 1,
  severity: 'warning',
  rule: 'hazard/long-lock',
  message: 'step 2 alter table:s.t: 100% of rows\nscanned',
};

describe('review formats', () => {
  it('a GitHub annotation is one line: the message escapes %, CR and LF; a property also : and ,', () => {
    expect(githubAnnotation(AT)).toBe(
      '::warning file=db/a%2Cb%3Ac.sql,line=7,col=1,title=dbee hazard/long-lock::step 2 alter table:s.t: 100%25 of rows%0Ascanned',
    );
    expect(githubAnnotation({ ...AT, file: null, severity: 'error' })).toBe(
      '::error title=dbee hazard/long-lock::step 2 alter table:s.t: 100%25 of rows%0Ascanned',
    );
  });

  it('gcc: file:line:col: severity: message [rule], on one line', () => {
    expect(gccLine(AT)).toBe(
      'db/a,b:c.sql:7:1: warning: step 2 alter table:s.t: 100% of rows scanned [hazard/long-lock]',
    );
    expect(gccLine({ ...AT, file: null })).toMatch(/^dbee: warning: /);
  });

  it('no diagnostics: nothing in github and gcc, an empty run in SARIF', () => {
    expect(formatDiagnostics('github', [], { version: '1', command: 'diff' })).toBe('');
    expect(formatDiagnostics('gcc', [], { version: '1', command: 'diff' })).toBe('');
    const log = JSON.parse(formatDiagnostics('sarif', [], { version: '1', command: 'diff' }));
    expect(log.runs[0].results).toEqual([]);
    expect(log.version).toBe('2.1.0');
  });
});
