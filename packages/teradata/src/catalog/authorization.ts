import { type Connection, DbeeError, envRefs, formatKey, interpolateEnv, type ObjectKey, type Plan } from '@dbee/core';
import { isSignificant, tokenize, type Token } from '../parse/splitter';

/**
 * Authorization objects (d-bee's `.auth` files): `CREATE | REPLACE AUTHORIZATION [db.]name [AS] [INVOKER | DEFINER
 * [DEFAULT]] TRUSTED USER 'user' PASSWORD 'password'` (SQL Data Definition Language Syntax and Examples, "CREATE
 * AUTHORIZATION and REPLACE AUTHORIZATION"; older releases also take `DOMAIN 'domain'` before USER). The password is a
 * secret: a source file writes it as a placeholder naming an environment variable, `PASSWORD '${TD_S3_SECRET}'`, the
 * same `${VAR}` dbee.yaml uses for connection passwords (`interpolateEnv`). The placeholder is what the plan, the
 * package, the ledger and every output hold, and what the step's checksum is of; the value is put in only in the
 * request sent to Teradata (`sendable`), and scrubbed from any error the request raises. A literal password in a
 * source is refused when the file is parsed (`checkPasswordLiteral`).
 */

/** The PASSWORD literal of an authorization statement, from its significant tokens; null for any other statement. */
function passwordLiteral(words: readonly Token[]): Token | null {
  if (!isAuthorizationHead(words)) return null;
  for (let i = 3; i < words.length - 1; i++)
    if (words[i]!.type === 'word' && words[i]!.value === 'PASSWORD' && words[i + 1]!.type === 'string')
      return words[i + 1]!;
  return null;
}

/** `CREATE AUTHORIZATION` / `REPLACE AUTHORIZATION` at the head of the statement's significant tokens. */
export function isAuthorizationHead(words: readonly Token[]): boolean {
  return (
    words.length > 2 &&
    words[0]!.type === 'word' &&
    (words[0]!.value === 'CREATE' || words[0]!.value === 'REPLACE') &&
    words[1]!.type === 'word' &&
    words[1]!.value === 'AUTHORIZATION'
  );
}

/** The text of a string literal token without its quotes (`''` unescaped). */
const literalText = (t: Token): string => t.text.slice(1, -1).replace(/''/g, "'");

/**
 * Refuse a literal password in a source (parse time, exit 1): `PASSWORD '...'` must be empty (a public object store's
 * `PASSWORD ''`) or hold only `${VAR}` placeholders, or the secret would reach the repository, the plan, the package
 * and the ledger.
 */
export function checkPasswordLiteral(words: readonly Token[], key: ObjectKey | null, file: string): void {
  const literal = passwordLiteral(words);
  if (!literal) return;
  const text = literalText(literal);
  if (text === '' || /^(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+$/.test(text)) return;
  const variable = key ? passwordVariable(key) : 'TD_AUTH_PASSWORD';
  throw new DbeeError(`${key ? formatKey(key) : 'an authorization'}: its PASSWORD is written literally in the source`, {
    code: 'SOURCE_LITERAL_SECRET',
    location: { file, line: literal.line, column: literal.column },
    hint: `write PASSWORD '\${${variable}}' and set ${variable} where dbee deploy runs: dbee puts the value in only in the request it sends, never in the plan, the package or the ledger (and change the password: it was in a file)`,
    details: { key: key ? formatKey(key) : null },
  });
}

/** The `${VAR}` names in the PASSWORD literal of an authorization statement (none for any other statement). */
export function passwordVariables(sql: string): string[] {
  if (!/\bAUTHORIZATION\b/i.test(sql) || !sql.includes('${')) return [];
  const literal = passwordLiteral(tokenize(sql, '').filter(isSignificant));
  return literal ? envRefs(literalText(literal)) : [];
}

/**
 * The environment variable extract writes into an authorization's placeholder, and suggests for a literal one:
 * `TD_AUTH_<DATABASE>_<NAME>`, other characters as `_`.
 */
export function passwordVariable(key: Pick<ObjectKey, 'schema' | 'name'>): string {
  return `TD_AUTH_${key.schema}_${key.name}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * The request to send for `sql`: an authorization statement with the `${VAR}` of its PASSWORD replaced by the
 * variable's value (the rest of the statement as written), with the values to scrub from messages; any other
 * statement as it is. An unset variable throws `ENV_VAR_UNSET` before anything is sent.
 */
export function sendable(sql: string, env: NodeJS.ProcessEnv = process.env): { sql: string; secrets: string[] } {
  if (!/\bAUTHORIZATION\b/i.test(sql)) return { sql, secrets: [] };
  const literal = passwordLiteral(tokenize(sql, '').filter(isSignificant));
  if (!literal || !envRefs(literalText(literal)).length) return { sql, secrets: [] };
  const value = interpolateEnv(literalText(literal), env, () => ({
    file: 'the authorization statement sent',
    key: 'PASSWORD',
  }));
  return {
    sql: `${sql.slice(0, literal.start)}'${value.replace(/'/g, "''")}'${sql.slice(literal.end)}`,
    secrets: value ? [value] : [],
  };
}

/**
 * `ObjectCatalog.planProblems`: every authorization step whose password variable is not set, one error each naming
 * the source file, the object and the variable, so that `dbee deploy` refuses before anything is sent (exit 1).
 */
export function authorizationPlanProblems(plan: Plan, env: NodeJS.ProcessEnv): DbeeError[] {
  const problems: DbeeError[] = [];
  for (const step of plan.steps) {
    const missing = [...new Set(step.statements.flatMap(passwordVariables))].filter((v) => env[v] === undefined);
    const where = step.source ? `${step.source.file}:${step.source.line}` : 'the plan';
    for (const variable of missing)
      problems.push(
        new DbeeError(
          `${step.key}: its PASSWORD comes from the environment variable ${variable}, which is not set (${where})`,
          {
            code: 'ENV_VAR_UNSET',
            location: step.source ?? { file: 'the plan' },
            hint: `export ${variable}=<the password> where dbee runs, then deploy again; nothing was sent`,
            details: { variable, key: step.key },
          },
        ),
      );
  }
  return problems;
}

/**
 * The BTEQ export of a plan with an authorization whose password comes from a variable is refused (exit 1), naming
 * each: BTEQ sends a script's SQL as written, with no variables of its own to put a password in, and a script holding
 * the value would be a secret file beside the release. The way through: `dbee deploy` the release (it puts the value
 * in at run time and records the step), or keep authorizations in a project of their own, deployed with `dbee deploy`
 * (the projects that use them name it in `dependsOn`), and export the others. An authorization with `PASSWORD ''` (a
 * public object store) has no secret and is exported as any object.
 */
export function refuseSecretsInBteq(plan: Plan, environment: string | undefined): void {
  const found = plan.steps.flatMap((s) =>
    [...new Set(s.statements.flatMap(passwordVariables))].map((v) => ({ step: s, variable: v })),
  );
  if (!found.length) return;
  const list = found.map(
    (f) =>
      `${f.step.key} (${f.step.source ? `${f.step.source.file}:${f.step.source.line}` : 'the plan'}, PASSWORD from ${f.variable})`,
  );
  const env = environment ? ` --env ${environment}` : '';
  throw new DbeeError(
    `a BTEQ script cannot create ${found.length === 1 ? 'this authorization' : 'these authorizations'}: ${list.join('; ')}`,
    {
      code: 'ENGINE_CAPABILITY',
      location: found[0]!.step.source ?? undefined,
      hint: `BTEQ sends a script's SQL as written and has no variables to take the password from, and dbee will not write it into a script. Deploy this release with dbee deploy${env} (the password from ${[...new Set(found.map((f) => f.variable))].join(', ')} where it runs), or keep authorizations in a project of their own deployed with dbee deploy (dependsOn it from the projects that use them) and export the others`,
      details: { keys: found.map((f) => f.step.key), variables: found.map((f) => f.variable) },
    },
  );
}

/** What can be read back of an authorization (never its password). */
export interface AuthorizationAttributes {
  /** DEFINER (else INVOKER, the default). */
  definer: boolean;
  /** DEFINER DEFAULT. */
  isDefault: boolean;
  /** DOMAIN 'd' (older releases, Windows), or null. */
  domain: string | null;
  /** USER 'u'. */
  user: string;
}

/** The attributes a CREATE / REPLACE AUTHORIZATION statement gives, or null for another statement. */
export function sourceAttributes(sql: string): AuthorizationAttributes | null {
  const words = tokenize(sql, '').filter(isSignificant);
  if (!isAuthorizationHead(words)) return null;
  const has = (w: string) => words.some((t) => t.type === 'word' && t.value === w);
  const literal = (w: string) => {
    const at = words.findIndex((t) => t.type === 'word' && t.value === w);
    const t = at > 2 ? words[at + 1] : undefined;
    return t?.type === 'string' ? literalText(t) : null;
  };
  const definer = has('DEFINER');
  return { definer, isDefault: definer && has('DEFAULT'), domain: literal('DOMAIN'), user: literal('USER') ?? '' };
}

/**
 * An authorization's attributes from `DBC.AuthorizationsV`, or null when it has none. The view's columns and codes
 * are dbee's reading, not checked against the Data Dictionary manual (its page could not be read when this was
 * written; the live suite's README lists it): `AuthorizationType` 'D' DEFINER / 'I' INVOKER, `AuthorizationSubType`
 * 'D' DEFAULT, `OSDomainName`, `OSUserName`.
 */
export async function liveAttributes(conn: Connection, key: ObjectKey): Promise<AuthorizationAttributes | null> {
  const r = await conn.query<{ type: string | null; subtype: string | null; domain: string | null; os_user: string }>(
    'SELECT AuthorizationType AS type, AuthorizationSubType AS subtype, OSDomainName AS domain, OSUserName AS os_user ' +
      'FROM DBC.AuthorizationsV WHERE UPPER(DatabaseName) = ? AND UPPER(AuthorizationName) = ?',
    [key.schema.toUpperCase(), key.name.toUpperCase()],
  );
  const row = r.rows[0];
  if (!row) return null;
  const definer = String(row.type ?? '').trim() === 'D';
  const domain = row.domain === null ? null : String(row.domain).trim() || null;
  return {
    definer,
    isDefault: definer && String(row.subtype ?? '').trim() === 'D',
    domain,
    user: String(row.os_user ?? '').trim(),
  };
}

/** What differs between two sets of attributes, in words (empty when they are the same). */
export function attributesDiffer(source: AuthorizationAttributes, live: AuthorizationAttributes): string[] {
  const as = (a: AuthorizationAttributes) => (a.definer ? (a.isDefault ? 'DEFINER DEFAULT' : 'DEFINER') : 'INVOKER');
  const out: string[] = [];
  if (as(source) !== as(live)) out.push(`AS ${as(live)} on the target, ${as(source)} in the source`);
  if ((source.domain ?? '') !== (live.domain ?? ''))
    out.push(`DOMAIN '${live.domain ?? ''}' on the target, '${source.domain ?? ''}' in the source`);
  if (source.user !== live.user) out.push(`USER '${live.user}' on the target, '${source.user}' in the source`);
  return out;
}

/**
 * The statement extract writes for an authorization: its attributes, and the password as the placeholder of
 * `passwordVariable(key)` (the password cannot be read back). `qualified` is the name as the file writes it.
 */
export function authorizationStatement(qualified: string, a: AuthorizationAttributes, variable: string): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const as = a.definer ? `DEFINER${a.isDefault ? ' DEFAULT' : ''}` : 'INVOKER';
  return (
    `CREATE AUTHORIZATION ${qualified} AS ${as} TRUSTED${a.domain ? ` DOMAIN ${q(a.domain)}` : ''}\n` +
    `  USER ${q(a.user)} PASSWORD '\${${variable}}';`
  );
}
