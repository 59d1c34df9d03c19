import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { releasePglite } from '../../../../test/support/pglite-share';
import { PgliteConnection } from './pglite-connection';
import { pgliteTemplate } from './pglite-template';
import { writeTemplateFolder } from './template-folder';

/** Every file and folder under `root`: its path, and for a file its length, modification time and bytes' hash. */
function tree(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) {
        out.push(`${relative(root, path)}/`);
        visit(path);
      } else {
        const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
        out.push(`${relative(root, path)} ${st.size} ${Math.floor(st.mtimeMs / 1000)} ${hash}`);
      }
    }
  };
  visit(root);
  return out;
}

describe("a new embedded database's folder written from the template [pglite]", () => {
  const scratch = mkdtempSync(join(tmpdir(), 'dbee-template-folder-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const dump = async () => new Uint8Array(await (await pgliteTemplate(inject('pgliteTemplateRoot'))).arrayBuffer());

  test("holds exactly the dump's files, bytes and modification times, as tar extracts them", async () => {
    const bytes = await dump();
    const archive = join(scratch, 'template.tar');
    writeFileSync(archive, bytes);
    const byTar = join(scratch, 'by-tar');
    mkdirSync(byTar);
    execFileSync('tar', ['-xf', archive, '-C', byTar], { stdio: 'pipe' });
    const byNode = join(scratch, 'by-node');
    expect(writeTemplateFolder(byNode, bytes)).toBe(true);
    expect(tree(byNode)).toEqual(tree(byTar));
    expect(existsSync(join(byNode, 'PG_VERSION'))).toBe(true);
    // Nothing left beside it: the staging folder was renamed into place.
    expect(readdirSync(scratch).filter((n) => n.includes('.new-'))).toEqual([]);
    // A second writer (another process opening the same new environment) finds the whole folder there and keeps it.
    writeFileSync(join(byNode, 'written-after'), 'x');
    expect(writeTemplateFolder(byNode, bytes)).toBe(true);
    expect(existsSync(join(byNode, 'written-after'))).toBe(true);
    expect(readdirSync(scratch).filter((n) => n.includes('.new-'))).toEqual([]);
  });

  test('opens as a database of its own that keeps what is written to it', async () => {
    const dir = join(scratch, 'opened', 'db');
    const template = await pgliteTemplate(inject('pgliteTemplateRoot'));
    const first = await PgliteConnection.open(dir, 'pglite:first', template);
    try {
      const { rows } = await first.query<{ datname: string }>('select datname from pg_database order by datname');
      expect(rows.map((r) => r.datname)).toEqual(['postgres']);
      await first.execute('create table kept (id int); insert into kept values (1)');
    } finally {
      await first.close();
    }
    // The suite shares one instance per folder (test/support/pglite-share.ts): close it, so the next open reads the disk.
    await releasePglite();
    const again = await PgliteConnection.open(dir, 'pglite:again');
    try {
      expect((await again.query('select id from kept')).rows).toEqual([{ id: 1 }]);
    } finally {
      await again.close();
    }
  });

  test('writes nothing for what is not a plain tar, or over a folder that holds files: PGlite is given the dump', async () => {
    const notTar = join(scratch, 'not-tar');
    expect(writeTemplateFolder(notTar, new Uint8Array(4096).fill(7))).toBe(false);
    expect(existsSync(notTar)).toBe(false);
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'something'), 'x');
    expect(writeTemplateFolder(full, await dump())).toBe(false);
    expect(readdirSync(full)).toEqual(['something']);
    expect(readdirSync(scratch).filter((n) => n.includes('.new-'))).toEqual([]);
  });
});
