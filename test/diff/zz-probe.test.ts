import { test } from 'vitest';
import { PgliteConnection } from '../../packages/postgres/src/pglite-connection';
test('probe', async () => {
  const c = await PgliteConnection.open(null, 'mem');
  const r = await c.query<{word:string}>("select word from pg_get_keywords() where catcode <> 'U' order by 1");
  console.log(JSON.stringify(r.rows.map(x=>x.word)));
  console.log(JSON.stringify((await c.query("select current_user, (select nspacl from pg_namespace where nspname='public'), (select obj_description(2200,'pg_namespace')), 1::int8 as big, '{a,b}'::text[] as arr, array[1::oid] as oids")).rows));
  await c.close();
});
