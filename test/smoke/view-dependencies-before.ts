/**
 * The smoke baseline's view-dependency query as it was before it looked up each node's edges by index (issue #40): it
 * read every rewrite rule's and routine's dependencies in the database into a table, then walked it. Kept verbatim
 * (its node-name expressions written out) as the reference the current query (`VIEW_DEPENDENCIES` in
 * packages/postgres/src/smoke/postgres-smoke.ts) must answer exactly as (test/smoke/view-dependencies-query.test.ts), and
 * the "before" of tools/bench/smoke-deps-pair.ts. Parameter: `$1`, the views' qualified names (`text[]`).
 */
export const VIEW_DEPENDENCIES_BEFORE = `
WITH RECURSIVE edge AS MATERIALIZED (
  SELECT 'pg_class'::regclass::oid AS classid, r.ev_class AS objid, d.refclassid, d.refobjid
    FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
   WHERE d.refobjid <> r.ev_class OR d.refclassid <> 'pg_class'::regclass
  UNION
  SELECT d.classid, d.objid, d.refclassid, d.refobjid FROM pg_depend d
   WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'n'
), node(classid, objid) AS (
  SELECT 'pg_class'::regclass::oid, x.c FROM unnest($1::text[]) t, LATERAL (SELECT to_regclass(t)::oid AS c) x WHERE x.c IS NOT NULL
  UNION
  SELECT e.refclassid, e.refobjid FROM node n JOIN edge e ON e.classid = n.classid AND e.objid = n.objid
   WHERE e.refclassid = 'pg_proc'::regclass
      OR (e.refclassid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = e.refobjid) IN ('v', 'm'))
), named AS (
  SELECT e.classid, e.objid, e.refclassid, e.refobjid FROM edge e JOIN node n ON n.classid = e.classid AND n.objid = e.objid
  UNION ALL
  SELECT n.classid, n.objid, NULL, NULL FROM node n
), opaque AS (
  -- The views a view's query reads no column of: its rule records only the whole relation (no column), it has no
  -- whole-row reference (recorded as none), and they are not security_invoker (checked as another user under it).
  SELECT r.ev_class AS objid, d.refobjid FROM pg_rewrite r
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
    JOIN pg_class c ON c.oid = d.refobjid AND c.relkind = 'v'
   WHERE d.refobjid <> r.ev_class AND r.ev_class IN (SELECT objid FROM node WHERE classid = 'pg_class'::regclass)
     AND position(':varattno 0 ' IN r.ev_action::text) = 0
     AND coalesce(array_to_string(c.reloptions, ','), '') NOT ILIKE '%security_invoker%'
   GROUP BY r.ev_class, d.refobjid HAVING bool_and(d.refobjsubid = 0)
)
SELECT (CASE named.classid
    WHEN 'pg_class'::regclass THEN (SELECT 'relation:' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = named.objid)
    WHEN 'pg_proc'::regclass THEN (SELECT 'routine:' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = named.objid)
    WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN r.relid IS NOT NULL THEN (SELECT 'relation:' || rn.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace rn ON rn.oid = c.relnamespace WHERE c.oid = r.relid)
        ELSE 'type:' || n.nspname || '.' || coalesce((SELECT e.typname FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'), t.typname) END
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        CROSS JOIN LATERAL (SELECT (SELECT c.oid FROM pg_class c WHERE c.relkind <> 'c' AND c.oid = coalesce(nullif(t.typrelid, 0), (SELECT nullif(e.typrelid, 0) FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'))) AS relid) r WHERE t.oid = named.objid)
  END) AS node, array_remove(array_agg(DISTINCT (CASE named.refclassid
    WHEN 'pg_class'::regclass THEN (SELECT 'relation:' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = named.refobjid)
    WHEN 'pg_proc'::regclass THEN (SELECT 'routine:' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = named.refobjid)
    WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN r.relid IS NOT NULL THEN (SELECT 'relation:' || rn.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace rn ON rn.oid = c.relnamespace WHERE c.oid = r.relid)
        ELSE 'type:' || n.nspname || '.' || coalesce((SELECT e.typname FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'), t.typname) END
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        CROSS JOIN LATERAL (SELECT (SELECT c.oid FROM pg_class c WHERE c.relkind <> 'c' AND c.oid = coalesce(nullif(t.typrelid, 0), (SELECT nullif(e.typrelid, 0) FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'))) AS relid) r WHERE t.oid = named.refobjid)
  END)), NULL) AS deps,
       (SELECT count(*) FROM pg_proc p, pg_proc q WHERE named.classid = 'pg_proc'::regclass AND p.oid = named.objid AND q.pronamespace = p.pronamespace AND q.proname = p.proname)::int AS overloads,
       (SELECT array_agg((CASE 'pg_class'::regclass
    WHEN 'pg_class'::regclass THEN (SELECT 'relation:' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = o.refobjid)
    WHEN 'pg_proc'::regclass THEN (SELECT 'routine:' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = o.refobjid)
    WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN r.relid IS NOT NULL THEN (SELECT 'relation:' || rn.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace rn ON rn.oid = c.relnamespace WHERE c.oid = r.relid)
        ELSE 'type:' || n.nspname || '.' || coalesce((SELECT e.typname FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'), t.typname) END
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        CROSS JOIN LATERAL (SELECT (SELECT c.oid FROM pg_class c WHERE c.relkind <> 'c' AND c.oid = coalesce(nullif(t.typrelid, 0), (SELECT nullif(e.typrelid, 0) FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'))) AS relid) r WHERE t.oid = o.refobjid)
  END)) FROM opaque o WHERE named.classid = 'pg_class'::regclass AND o.objid = named.objid) AS opaque
  FROM named GROUP BY 1, named.classid, named.objid`;
