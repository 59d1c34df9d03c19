import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from '../env-management/helpers';

const PARTITIONED = `CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, last_order_id int, last_order_k int);
CREATE TABLE shop.orders (id int NOT NULL, k int NOT NULL, customer_id int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE shop.orders_1 PARTITION OF shop.orders FOR VALUES FROM (0) TO (100);
CREATE TABLE shop.orders_2 PARTITION OF shop.orders FOR VALUES FROM (100) TO (200);
CREATE INDEX orders_customer ON shop.orders (customer_id);
CREATE VIEW shop.order_ids AS SELECT id, k FROM shop.orders;
ALTER TABLE shop.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES shop.customers (id);
ALTER TABLE shop.customers ADD CONSTRAINT customers_last_order_fk
  FOREIGN KEY (last_order_id, last_order_k) REFERENCES shop.orders (id, k);
`;

/** The same tables, `orders` a plain table now, and an order's id unique on its own. */
const PLAIN = PARTITIONED.replace(') PARTITION BY RANGE (k);', ', UNIQUE (id));').replace(
  /CREATE TABLE shop\.orders_\d .*\n/g,
  '',
);

/** Every relation of the schema with its kind, every constraint, and the rows: what a failed deployment must not move. */
const STATE = `SELECT 'rel ' || c.relname::text || ' ' || c.relkind::text AS x FROM pg_class c
   WHERE c.relnamespace = 'shop'::regnamespace
  UNION ALL SELECT 'con ' || conrelid::regclass::text || ' ' || conname::text FROM pg_constraint
   WHERE connamespace = 'shop'::regnamespace
  UNION ALL SELECT 'row ' || o::text FROM shop.orders o
  UNION ALL SELECT 'row ' || c::text FROM shop.customers c
  ORDER BY 1`;

/**
 * Issue #72 point 8, second half: a partition tree with a foreign-key cycle re-created as plain tables. The
 * re-creation is several steps (the foreign key into it dropped, the old tables renamed aside as `*__dbee_old`, the new
 * table created, the rows copied, the old tables dropped, the key, index and view made again); under the default
 * transaction scope (`object`) each committed alone, so a failure at the copy (rows the new table refuses) left the
 * first steps committed: `*__dbee_old` tables and indexes, an empty new table, no foreign key. Now the steps of a
 * re-creation share one transaction whatever the scope, and a failure leaves the database exactly as it was.
 */
describe.each<[Engine]>([['pglite'], ['postgres']])(
  'a re-creation that fails partway leaves the database as it was [%s]',
  (engine) => {
    const w = envWorkspace(engine, {
      'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
    });
    const file = () => join(w.root, 'shop', 'schema', 'shop.sql');
    const deploy = () =>
      w.dbee('deploy', {
        project: 'shop',
        env: w.env(1),
        allowHazards: 'table-rewrite,data-loss,index-build,long-lock',
      });
    beforeAll(async () => {
      await w.setup();
      mkdirSync(join(w.root, 'shop', 'schema'), { recursive: true });
    }, 120_000);
    afterAll(() => w.teardown());

    it('a failed copy into the re-created table rolls every step of the re-creation back', async () => {
      writeFileSync(file(), PARTITIONED);
      const first = await deploy();
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      // Order 2 twice, in both partitions: the plain table's UNIQUE (id) refuses the copy.
      await w.exec(
        1,
        `INSERT INTO shop.customers VALUES (1, NULL, NULL);
         INSERT INTO shop.orders VALUES (1, 5, 1), (2, 6, 1), (2, 150, 1);
         UPDATE shop.customers SET last_order_id = 2, last_order_k = 150;`,
      );
      const before = await w.query(1, STATE);

      writeFileSync(file(), PLAIN);
      const failed = await deploy();
      expect(failed.code).toBe(2);
      expect(failed.stderr).toContain('duplicate key value violates unique constraint "orders_id_key"');
      expect(await w.query(1, STATE)).toEqual(before);
      expect(await w.query(1, `SELECT relname FROM pg_class WHERE relname LIKE '%dbee_old%'`)).toEqual([]);
      // The ledger says so: nothing of the deployment is applied, and its first steps were rolled back with the copy.
      const steps = await w.query<{ status: string; n: number }>(
        1,
        `SELECT status, count(*)::int AS n FROM dbee.steps
          WHERE deployment_id = (SELECT max(id) FROM dbee.deployments) GROUP BY status ORDER BY 1`,
      );
      expect(steps.map((s) => s.status)).not.toContain('applied');
      expect(steps.find((s) => s.status === 'rolled-back')?.n).toBeGreaterThan(0);

      // Fixed data: the same deployment applies whole and the schema is the sources'.
      await w.exec(1, 'UPDATE shop.orders SET id = 3 WHERE k = 6;');
      const again = await deploy();
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(await w.query(1, `SELECT relkind FROM pg_class WHERE oid = 'shop.orders'::regclass`)).toEqual([
        { relkind: 'r' },
      ]);
      expect(await w.query(1, 'SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 3 }]);
      const diff = await w.dbee('diff', { project: 'shop', env: w.env(1) });
      expect(diff.stdout).toContain('no differences');
    }, 300_000);
  },
);
