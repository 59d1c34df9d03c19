/**
 * Parsing throughput on a generated project: `node tools/run.js packages/postgres/src/parse/parse-benchmark.ts [objects]`.
 * Files of four statements each (table with foreign keys and a default, index, view, PL/pgSQL or SQL function),
 * like a real project's layout; prints the best time of three runs to parse them all.
 */
import { loadPostgresParser } from './libpg';
import { parsePostgresSource } from './postgres-parser';

function file(i: number): string {
  const fn =
    i % 2 === 0
      ? `create or replace function s.total_${i}(p_id int) returns numeric language plpgsql as $$
declare
  r s.t_${i}%rowtype;
  n numeric := 0;
begin
  -- sum the lines
  select * into r from s.t_${i} where id = p_id;
  for r in select * from s.t_${i} where parent_id = p_id loop
    n := n + s.price(r.id);
  end loop;
  perform s.audit('total', p_id);
  return n;
end $$;`
      : `create function s.total_${i}(p_id int) returns numeric language sql stable as $$
  select sum(amount) from s.t_${i} where parent_id = p_id
$$;`;
  return `-- object ${i}
create table s.t_${i} (
  id bigint primary key default nextval('s.seq'),
  parent_id bigint references s.t_${Math.max(0, i - 1)} (id) on delete cascade,
  status core.status not null default 'new',
  amount numeric(12,2) check (amount >= 0),
  constraint t_${i}_other_fk foreign key (parent_id) references s.t_0 (id)
);
create index on s.t_${i} (parent_id);
create view s.v_${i} as
  with recent as (select * from s.t_${i} where status <> 'old')
  select r.id, s.price(r.id) from recent r join s.t_${Math.max(0, i - 1)} p on p.id = r.parent_id;
${fn}
`;
}

async function main(): Promise<void> {
  const objects = Number(process.argv[2] ?? 10_000);
  const files = Array.from({ length: Math.ceil(objects / 4) }, (_, i) => file(i));
  await loadPostgresParser();
  parsePostgresSource(files[0]!, 'warmup.sql', { searchPath: ['s'] });
  // The best of three runs: the machine may be busy with other work.
  let best = Infinity;
  let statements = 0;
  let references = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    statements = 0;
    references = 0;
    files.forEach((text, i) => {
      const parsed = parsePostgresSource(text, `db/f${i}.sql`, { searchPath: ['s'] });
      statements += parsed.length;
      for (const p of parsed) references += p.references.length;
    });
    best = Math.min(best, performance.now() - started);
  }
  console.log(
    `${files.length} files, ${statements} statements, ${references} references: ${best.toFixed(0)} ms (${((best * 1000) / statements).toFixed(0)} µs per statement)`,
  );
}

void main();
