import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Pagila-shaped sources for the rollback test, taken from pagila's published schema (test/fixtures/real/pagila, MIT):
 * the statements of ten of its tables as `pg_dump` printed them (their sequences, the types and domain they use, their
 * primary and foreign keys, the `last_updated` function and the triggers on them), in `public`. Only what PostgreSQL
 * 18 alone runs is taken out (the `uuid DEFAULT uuidv7()` columns and the `VIRTUAL` generated column), with the
 * owners (`ALTER ... OWNER TO`), so that the server (15) and PGlite (17) build them. Every foreign key among them is
 * kept: film → language (twice), rental → customer, inventory and staff, customer → address and store, and so on.
 */
export const PAGILA_TABLES = [
  'language',
  'film',
  'country',
  'city',
  'address',
  'store',
  'staff',
  'customer',
  'inventory',
  'rental',
] as const;

const FILE = join(__dirname, '..', 'fixtures', 'real', 'pagila', 'pagila-schema.sql');

/** The statements of `pagila-schema.sql`, each without its comment lines. */
function statements(): string[] {
  const text = readFileSync(FILE, 'utf8');
  // pg_dump ends every statement with `;` at the end of a line; function bodies are dollar-quoted.
  const out: string[] = [];
  let current = '';
  let dollar: string | null = null;
  for (const line of text.split('\n')) {
    if (!dollar && !current && (line.startsWith('--') || !line.trim())) continue;
    current += `${line}\n`;
    for (const m of line.matchAll(/\$[A-Za-z_]*\$/g)) dollar = dollar === m[0] ? null : (dollar ?? m[0]);
    if (!dollar && /;\s*$/.test(line)) {
      out.push(current.trim());
      current = '';
    }
  }
  return out;
}

/** The files of a project `pagila` owning `public`, from the published schema (see above). */
export function pagilaFiles(): Record<string, string> {
  const tables = new Set<string>(PAGILA_TABLES);
  const mentions = (s: string) => [...s.matchAll(/public\.(\w+)/g)].map((m) => m[1]!);
  const picked: string[] = [];
  for (const s of statements()) {
    if (/OWNER TO|^SET |^SELECT pg_catalog|CREATE EXTENSION|COMMENT ON EXTENSION/.test(s)) continue;
    const head = s.split('\n')[0]!;
    const keep =
      /^CREATE TYPE public\.mpaa_rating|^CREATE DOMAIN public\.year|^CREATE FUNCTION public\.last_updated\(\)/.test(
        s,
      ) ||
      (/^CREATE SEQUENCE public\.(\w+)_\w+_seq/.test(head) &&
        tables.has(/public\.(\w+?)_\w+_id_seq/.exec(head)?.[1] ?? '')) ||
      (/^CREATE TABLE public\.(\w+) \(/.test(head) && tables.has(/public\.(\w+)/.exec(head)![1]!)) ||
      (/^ALTER TABLE ONLY public\.(\w+)\s/.test(s) &&
        /ADD CONSTRAINT \w+ (PRIMARY KEY|FOREIGN KEY)/.test(s) &&
        mentions(s).every((t) => tables.has(t))) ||
      (/^ALTER SEQUENCE public\.\w+ OWNED BY public\.(\w+)/.test(s) &&
        tables.has(/OWNED BY public\.(\w+)/.exec(s)![1]!)) ||
      (/^CREATE TRIGGER \w+ BEFORE/.test(s) && tables.has(/ ON public\.(\w+)/.exec(s)![1]!));
    if (!keep) continue;
    picked.push(
      s
        .split('\n')
        .filter((l) => !/uuidv7\(\)|\bVIRTUAL\b/.test(l))
        .join('\n')
        // The line before a removed last column keeps its comma.
        .replace(/,\n\);/g, '\n);'),
    );
  }
  return {
    'pagila/db.yaml': 'version: 1\nname: pagila\nengine: postgres\nschemas: [public]\n',
    'pagila/pagila.sql': `${picked.join('\n\n')}\n`,
  };
}

/**
 * Rows for the Pagila-shaped tables, generated (a modest amount: the test stays fast): 3 languages, 300 films with
 * an original language on every third, 600 copies in 2 stores, 200 customers, 2,000 rentals.
 */
export const PAGILA_ROWS = `
INSERT INTO public.language (name) SELECT n FROM unnest(ARRAY['English', 'Italian', 'Japanese']) n;
INSERT INTO public.country (country) SELECT 'country ' || g FROM generate_series(1, 10) g;
INSERT INTO public.city (city, country_id) SELECT 'city ' || g, 1 + g % 10 FROM generate_series(1, 30) g;
INSERT INTO public.address (address, district, city_id, phone)
  SELECT g || ' main street', 'district', 1 + g % 30, '555-' || g FROM generate_series(1, 120) g;
INSERT INTO public.store (manager_staff_id, address_id) VALUES (1, 1), (2, 2);
INSERT INTO public.staff (first_name, last_name, address_id, store_id, username)
  VALUES ('Mike', 'Hillyer', 3, 1, 'mike'), ('Jon', 'Stephens', 4, 2, 'jon');
INSERT INTO public.film (title, language_id, original_language_id, rental_rate)
  SELECT 'film ' || g, 1 + g % 3, CASE WHEN g % 3 = 0 THEN 1 END, 0.99 + g % 3 FROM generate_series(1, 300) g;
INSERT INTO public.customer (store_id, first_name, last_name, address_id, active)
  SELECT 1 + g % 2, 'first ' || g, 'last ' || g, 5 + g % 115, 1 FROM generate_series(1, 200) g;
INSERT INTO public.inventory (film_id, store_id) SELECT 1 + g % 300, 1 + g % 2 FROM generate_series(1, 600) g;
INSERT INTO public.rental (rental_date, inventory_id, customer_id, staff_id)
  SELECT timestamptz '2024-01-01' + g * interval '1 hour', 1 + (g * 7) % 600, 1 + (g * 13) % 200, 1 + g % 2
    FROM generate_series(1, 2000) g;
`;
