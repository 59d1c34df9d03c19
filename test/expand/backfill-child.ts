// A backfill in a process of its own, for the kill test (backfill.test.ts): node tools/run.js <this> <url> <json spec>
// [json options]. Prints one JSON line per committed batch, then `done`.
import { runBackfill } from '@dbee/core';
import { PgConnection, postgresBackfill } from '@dbee/postgres';

async function main(): Promise<void> {
  const [url, spec, options] = process.argv.slice(2);
  const conn = await PgConnection.open({ connectionString: url! }, 'child');
  const r = await runBackfill(postgresBackfill, conn, JSON.parse(spec!), {
    ...JSON.parse(options ?? '{}'),
    onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
  });
  process.stdout.write(`done ${JSON.stringify(r)}\n`);
  await conn.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
