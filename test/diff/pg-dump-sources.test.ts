import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

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

/**
 * What PostgreSQL 15's `pg_dump -s -n app` printed for a schema with a serial, an identity on a partitioned table, a
 * view, a materialized view and a sequence: it names the view, the materialized view and the sequences in
 * `ALTER TABLE ... OWNER TO` (never `ALTER VIEW` or `ALTER SEQUENCE`), creates the schema and owns it, and opens and
 * closes with psql's `\\restrict` and `\\unrestrict`.
 */
const DUMP_15 = `--
-- PostgreSQL database dump
--

\\restrict dbeeFixtureKey

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

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

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA app;


ALTER SCHEMA app OWNER TO postgres;

--
-- Name: rating; Type: TYPE; Schema: app; Owner: postgres
--

CREATE TYPE app.rating AS ENUM (
    'G',
    'PG'
);


ALTER TYPE app.rating OWNER TO postgres;

--
-- Name: film_count(); Type: FUNCTION; Schema: app; Owner: postgres
--

CREATE FUNCTION app.film_count() RETURNS bigint
    LANGUAGE sql
    AS $$select count(*) from app.film$$;


ALTER FUNCTION app.film_count() OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: film; Type: TABLE; Schema: app; Owner: postgres
--

CREATE TABLE app.film (
    film_id integer NOT NULL,
    title text NOT NULL
);


ALTER TABLE app.film OWNER TO postgres;

--
-- Name: film_film_id_seq; Type: SEQUENCE; Schema: app; Owner: postgres
--

CREATE SEQUENCE app.film_film_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE app.film_film_id_seq OWNER TO postgres;

--
-- Name: film_film_id_seq; Type: SEQUENCE OWNED BY; Schema: app; Owner: postgres
--

ALTER SEQUENCE app.film_film_id_seq OWNED BY app.film.film_id;


--
-- Name: film_list; Type: VIEW; Schema: app; Owner: postgres
--

CREATE VIEW app.film_list AS
 SELECT film.film_id,
    film.title
   FROM app.film;


ALTER TABLE app.film_list OWNER TO postgres;

--
-- Name: film_titles; Type: MATERIALIZED VIEW; Schema: app; Owner: postgres
--

CREATE MATERIALIZED VIEW app.film_titles AS
 SELECT film.film_id,
    film.title
   FROM app.film
  WITH NO DATA;


ALTER TABLE app.film_titles OWNER TO postgres;

--
-- Name: rental; Type: TABLE; Schema: app; Owner: postgres
--

CREATE TABLE app.rental (
    rental_id integer NOT NULL,
    film_id integer,
    rented date NOT NULL
)
PARTITION BY RANGE (rented);


ALTER TABLE app.rental OWNER TO postgres;

--
-- Name: rental_2026; Type: TABLE; Schema: app; Owner: postgres
--

CREATE TABLE app.rental_2026 (
    rental_id integer NOT NULL,
    film_id integer,
    rented date NOT NULL
);


ALTER TABLE app.rental_2026 OWNER TO postgres;

--
-- Name: rental_rental_id_seq; Type: SEQUENCE; Schema: app; Owner: postgres
--

ALTER TABLE app.rental ALTER COLUMN rental_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app.rental_rental_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: ticket_no; Type: SEQUENCE; Schema: app; Owner: postgres
--

CREATE SEQUENCE app.ticket_no
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE app.ticket_no OWNER TO postgres;

--
-- Name: rental_2026; Type: TABLE ATTACH; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.rental ATTACH PARTITION app.rental_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');


--
-- Name: film film_id; Type: DEFAULT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.film ALTER COLUMN film_id SET DEFAULT nextval('app.film_film_id_seq'::regclass);


--
-- Name: film film_pkey; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.film
    ADD CONSTRAINT film_pkey PRIMARY KEY (film_id);


--
-- Name: rental rental_pkey; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.rental
    ADD CONSTRAINT rental_pkey PRIMARY KEY (rental_id, rented);


--
-- Name: rental_2026 rental_2026_pkey; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.rental_2026
    ADD CONSTRAINT rental_2026_pkey PRIMARY KEY (rental_id, rented);


--
-- Name: film_title; Type: INDEX; Schema: app; Owner: postgres
--

CREATE INDEX film_title ON app.film USING btree (title);


--
-- Name: rental_2026_pkey; Type: INDEX ATTACH; Schema: app; Owner: postgres
--

ALTER INDEX app.rental_pkey ATTACH PARTITION app.rental_2026_pkey;


--
-- Name: rental rental_film_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE app.rental
    ADD CONSTRAINT rental_film_id_fkey FOREIGN KEY (film_id) REFERENCES app.film(film_id);


--
-- PostgreSQL database dump complete
--

\\unrestrict dbeeFixtureKey

`;

describe.each(ENGINES)('pg_dump 15 output as sources [%s]', (engine) => {
  it('ALTER TABLE ... OWNER TO on a view, a materialized view or a sequence is no table: deploy, smoke after deploy and smoke-test pass, the next deploy has nothing to do', async () => {
    const w = await workspaceWith(engine, {
      'dbee.yaml': workspaceYaml(engine, { environment: 'deploy:\n  smokeAfterDeploy: true' }),
      'app/db.yaml': dbYaml('app'),
      'app/schema.sql': DUMP_15,
    });
    workspaces.push(w);
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/table:app\.(film_list|film_titles|film_film_id_seq|ticket_no)\b/);
    const smoke = await run(w.root, 'smoke-test', { project: 'app' }, w.target.vars);
    expect(smoke.stderr).toBe('');
    expect(smoke.code).toBe(0);
    const again = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to deploy');
    // The desired state built from the dump (in a shadow) equals what the deploy made.
    const diff = await run(w.root, 'diff', { project: 'app', format: 'json', cache: false }, w.target.vars);
    expect(diff.stderr).toBe('');
    expect((JSON.parse(diff.stdout) as { changes: number }).changes).toBe(0);
  });
});
