// A switchover in a process of its own, for the kill test (interrupted.test.ts): node tools/run.js <this> <workspace>
// <pgbouncer port>. Its router is made of commands (psql on PgBouncer's admin console); its route command kills this
// process, inside the pause, after the way back was made: the writes stay paused behind it.
import { blueGreenSwitch, hookRouter } from '@dbee/core';
import { context } from './setup';

async function main(): Promise<void> {
  const [root, port] = process.argv.slice(2);
  const admin = (c: string) => `psql -X -q -h 127.0.0.1 -p ${port} -U postgres -d pgbouncer -c "${c}"`;
  const router = hookRouter(
    { pause: admin('PAUSE app'), route: 'kill -9 $PPID; sleep 5', resume: admin('RESUME app') },
    { cwd: root!, env: process.env, databases: { blue: 'app', green: 'app_green' } },
  );
  await blueGreenSwitch(context(root!), { project: 's', env: 'blue', green: 'green', router }, 'blue');
  process.stdout.write('the switch ended: it should have been killed\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
