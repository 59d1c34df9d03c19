import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** What `pg_dump -s` prints for a small schema (its preamble, owners, a materialized view WITH NO DATA). */
const DUMP = `--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE app.film (
    film_id integer NOT NULL,
    title text NOT NULL
);


ALTER TABLE app.film OWNER TO postgres;

CREATE FUNCTION app.film_count() RETURNS bigint
    LANGUAGE sql
    AS $$ SELECT count(*) FROM app.film $$;


ALTER FUNCTION app.film_count() OWNER TO postgres;

CREATE MATERIALIZED VIEW app.film_titles AS
 SELECT film.film_id,
    film.title
   FROM app.film
  WITH NO DATA;


ALTER MATERIALIZED VIEW app.film_titles OWNER TO postgres;

ALTER TABLE ONLY app.film
    ADD CONSTRAINT film_pkey PRIMARY KEY (film_id);
`;

describe.each(ENGINES)('a pg_dump -s file as sources [%s]', (engine) => {
  it('SET lines and OWNER TO statements are understood; deploy and smoke succeed; the next deploy has nothing to do', async () => {
    const w = await workspaceWith(engine, { 'app/db.yaml': dbYaml('app'), 'app/schema.sql': DUMP });
    workspaces.push(w);
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/table:app\.film_count|does not compile/);
    expect(
      await w.target.query(
        "SELECT count(*)::int AS n FROM pg_matviews WHERE schemaname = 'app' AND matviewname = 'film_titles'",
      ),
    ).toEqual([{ n: 1 }]);
    const smoke = await run(w.root, 'smoke-test', { project: 'app' }, w.target.vars);
    expect(smoke.stderr).toBe('');
    expect(smoke.code).toBe(0);
    const again = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to deploy');
  });
});
