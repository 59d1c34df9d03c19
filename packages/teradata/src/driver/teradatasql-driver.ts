import {
  ESCAPE,
  type TeradataDriver,
  type TeradataResult,
  type TeradataResultSet,
  type TeradataSession,
} from './driver';

/**
 * Adapter for `teradatasql` (20.x): async connect, execute and close (`connectAsync`, `executeAsync`,
 * `closeAsync`, which poll the native library instead of blocking the event loop), auto-commit through the
 * `.autocommit` property, and commit/rollback through the same escape functions its own `commit()` and
 * `rollback()` send (those methods open a cursor they never close, so dbee runs the escapes on its own cursor).
 */

/** The structural part of `teradatasql` that dbee uses (no dependency on its types). */
export interface TeradatasqlModule {
  TeradataConnection: new () => TeradatasqlConnection;
}
interface TeradatasqlConnection {
  connectAsync(params: Record<string, string>): Promise<void>;
  closeAsync(): Promise<void>;
  cursor(): TeradatasqlCursor;
  autocommit: boolean;
}
interface TeradatasqlCursor {
  executeAsync(sql: string, params?: unknown[]): Promise<void>;
  readonly description: unknown[][] | null;
  readonly rowcount: bigint | number;
  fetchall(): unknown[][];
  nextset(): boolean;
  close(): void;
}

/**
 * Every connection parameter `teradatasql` 20.0.55 documents (its README, "Connection Parameters"); the driver
 * rejects any other key with "Unable to parse JSON connection parameters".
 */
export const TERADATASQL_PARAMETERS: ReadonlySet<string> = new Set(
  (
    'account browser browser_tab_timeout browser_timeout code_append_file column_name concurrent_interval concurrent_limit ' +
    'connect_failure_ttl connect_function connect_timeout cop coplast database dbs_port encryptdata error_query_count ' +
    'error_query_interval error_table_1_suffix error_table_2_suffix error_table_database fake_result_sets field_quote field_sep ' +
    'gateway_deadline govern host http_proxy http_proxy_password http_proxy_user https_port https_proxy https_proxy_password ' +
    'https_proxy_user https_retry jws_algorithm jws_cert jws_private_key lob_support local_catalog log logdata logmech ' +
    'logon_sequence_number logon_timeout manage_error_tables max_message_body oauth_level oauth_scopes oidc_cache_size oidc_claim ' +
    'oidc_clientid oidc_metadata oidc_metadata_cache oidc_prompt oidc_redirect_port oidc_refresh oidc_refresh_percent oidc_scope ' +
    'oidc_sslmode oidc_token partition password proxy_bypass_hosts reconnect_count reconnect_interval redrive request_timeout ' +
    'runstartup sessions sip_support sp_spl sslbase64 sslca sslcapath sslcipher sslcrc sslcrl sslmode sslnamedgroups sslocsp ' +
    'sslprotocol teradata_values tmode user'
  ).split(' '),
);

/** A request that creates or replaces a stored procedure (leading comments apart). */
const PROCEDURE_DDL = /^(?:\s*(?:--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*(?:CREATE|REPLACE)\s+PROCEDURE\b/i;

export function teradatasqlDriver(mod: TeradatasqlModule, version: string): TeradataDriver {
  return {
    name: 'teradatasql',
    version,
    acceptedParameters: TERADATASQL_PARAMETERS,
    async connect(params) {
      const con = new mod.TeradataConnection();
      await con.connectAsync(params);
      return new TeradatasqlSession(con);
    },
  };
}

class TeradatasqlSession implements TeradataSession {
  constructor(private readonly con: TeradatasqlConnection) {}

  async run(sql: string, params?: unknown[]): Promise<TeradataResult> {
    const cur = this.con.cursor();
    let result: TeradataResult;
    try {
      await cur.executeAsync(sql, params && params.length ? params : undefined);
      result = readAll(cur);
    } finally {
      cur.close();
    }
    // The response to CREATE/REPLACE PROCEDURE carries the compile result as a warning (5526: not created, errors;
    // 5527: created with warnings), which teradatasql does not raise. Its `{fn teradata_get_warnings}` returns
    // "Warnings from an operation that completed with warnings" (teradatasql README, "Connection Functions"), read
    // right after the request so that TeradataConnection fails a procedure that was not created.
    if (PROCEDURE_DDL.test(sql)) {
      const warnings = await this.warnings();
      if (warnings.length) result.warnings = warnings;
    }
    return result;
  }

  /** The warnings of the last request, one per line of `{fn teradata_get_warnings}` (code: its first 4-digit number). */
  private async warnings(): Promise<{ code: number; text: string }[]> {
    const cur = this.con.cursor();
    try {
      await cur.executeAsync(`${ESCAPE.nativeSql}{fn teradata_get_warnings}`);
      const text = cur
        .fetchall()
        .map((r) => String(r[0] ?? ''))
        .join('\n');
      return text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => ({ code: Number(/\b(\d{4})\b/.exec(line)?.[1] ?? 0), text: line }));
    } finally {
      cur.close();
    }
  }
  async setAutocommit(on: boolean): Promise<void> {
    this.con.autocommit = on;
  }
  async commit(): Promise<void> {
    await this.run(ESCAPE.commit);
  }
  async rollback(): Promise<void> {
    await this.run(ESCAPE.rollback);
  }
  async close(): Promise<void> {
    await this.con.closeAsync();
  }
}

/** Read every result set of an executed cursor (shared with the other driver's adapter). */
export function readAll(cur: {
  description: unknown[][] | null;
  rowcount: bigint | number;
  fetchall(): unknown[][];
  nextset(): boolean;
}): TeradataResult {
  const rowCount = Number(cur.rowcount ?? 0);
  const resultSets: TeradataResultSet[] = [];
  for (;;) {
    const desc = cur.description;
    if (desc && desc.length) resultSets.push({ columns: desc.map((d) => String(d[0])), rows: cur.fetchall() });
    if (!cur.nextset()) break;
  }
  return { resultSets, rowCount: Number.isFinite(rowCount) ? rowCount : 0 };
}
