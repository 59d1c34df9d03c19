import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { promotionRecordPath, readPromotionRecord, writePromotionRecord } from './promotion-record';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const KEY = 'k'.repeat(32);
const record = {
  planChecksum: 'sha256:aaa',
  environment: 'qa',
  database: 'pglite:.dbee/qa',
  finishedAt: '2026-11-24T01:00:00.000Z',
  ticket: 'CHG-1',
  projects: [{ project: 'a', deploymentId: 3, status: 'succeeded', smoke: '2/2 passed' }],
};

function pkg(): string {
  const d = mkdtempSync(join(tmpdir(), 'dbee-promo-'));
  dirs.push(d);
  return d;
}

describe('promotion records', () => {
  it('verify with the key they were signed with, for their package and environment only', () => {
    const dir = pkg();
    writePromotionRecord(dir, record, new Map([['DBEE_PROMOTION_KEY', KEY]]));
    expect(readPromotionRecord(dir, 'qa', 'sha256:aaa', 'DBEE_PROMOTION_KEY', KEY)).toMatchObject({
      ok: true,
      record: { ...record, formatVersion: 1 },
    });
    expect(readPromotionRecord(dir, 'qa', 'sha256:aaa', 'DBEE_PROMOTION_KEY', 'x'.repeat(32))).toEqual({
      ok: false,
      reason: expect.stringContaining('does not match its signature'),
    });
    expect(readPromotionRecord(dir, 'qa', 'sha256:aaa', 'OTHER_KEY', KEY)).toEqual({
      ok: false,
      reason: 'promotion/qa.json is not signed with the key in OTHER_KEY',
    });
    expect(readPromotionRecord(dir, 'qa', 'sha256:bbb', 'DBEE_PROMOTION_KEY', KEY)).toEqual({
      ok: false,
      reason: 'promotion/qa.json records another package (plan checksum aaa...)',
    });
    expect(readPromotionRecord(dir, 'uat', 'sha256:aaa', 'DBEE_PROMOTION_KEY', KEY)).toEqual({
      ok: false,
      reason: 'the package has no promotion record from uat (promotion/uat.json)',
    });
  });

  it('refuse any edit: a status, a smoke result, an added field; and a file renamed to another environment', () => {
    const dir = pkg();
    const path = writePromotionRecord(
      dir,
      { ...record, projects: [{ ...record.projects[0]!, status: 'failed', smoke: '1/2 passed' }] },
      new Map([['K', KEY]]),
    );
    const original = readFileSync(path, 'utf8');
    for (const edit of [
      (r: any) => (r.projects[0].status = 'succeeded'),
      (r: any) => (r.projects[0].smoke = '2/2 passed'),
      (r: any) => (r.approved = true),
    ]) {
      const r = JSON.parse(original);
      edit(r);
      writeFileSync(path, JSON.stringify(r));
      expect(readPromotionRecord(dir, 'qa', 'sha256:aaa', 'K', KEY)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('does not match its signature'),
      });
    }
    writeFileSync(promotionRecordPath(dir, 'prod'), original);
    expect(readPromotionRecord(dir, 'prod', 'sha256:aaa', 'K', KEY)).toEqual({
      ok: false,
      reason: 'promotion/prod.json records a deployment to qa, not to prod',
    });
    writeFileSync(path, 'not json');
    expect(readPromotionRecord(dir, 'qa', 'sha256:aaa', 'K', KEY)).toEqual({
      ok: false,
      reason: 'promotion/qa.json is not valid JSON',
    });
  });
});
