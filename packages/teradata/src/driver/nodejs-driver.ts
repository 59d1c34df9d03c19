import { ESCAPE, type TeradataDriver, type TeradataResult, type TeradataSession } from './driver';
import { readAll } from './teradatasql-driver';

/**
 * Adapter for the deprecated `teradata-nodejs-driver` (1.0.0-rc.17). Everything in it is synchronous FFI, so each
 * call blocks the event loop. Its `commit()` and `rollback()` are empty stubs: transactions go through the escape
 * functions `{fn teradata_nativesql}{fn teradata_autocommit_off}`, `{fn teradata_commit}` and
 * `{fn teradata_rollback}` instead. It has no `logon_timeout` and no `request_timeout`.
 */

export interface NodejsDriverModule {
  TeradataConnection: new () => NodejsDriverConnection;
}
interface NodejsDriverConnection {
  connect(params: Record<string, string>): void;
  cursor(): NodejsDriverCursor;
  close(): void;
}
interface NodejsDriverCursor {
  execute(sql: string, params?: unknown[]): void;
  readonly description: unknown[][] | null;
  readonly rowcount: number;
  fetchall(): unknown[][];
  nextset(): boolean;
  close(): void;
}

/** Parameters the rc.17 native library (17.20.00.04) accepted when probed; it rejects the rest. */
export const NODEJS_DRIVER_PARAMETERS: ReadonlySet<string> = new Set(
  (
    'host user password database logmech logdata tmode encryptdata sslmode sslca sslcapath sslprotocol sslcipher https_port ' +
    'dbs_port connect_timeout connect_failure_ttl cop coplast account partition column_name fake_result_sets teradata_values ' +
    'lob_support sip_support max_message_body immediate posixlt field_sep field_quote log'
  ).split(' '),
);

export function nodejsDriver(mod: NodejsDriverModule, version: string): TeradataDriver {
  return {
    name: 'teradata-nodejs-driver',
    version,
    acceptedParameters: NODEJS_DRIVER_PARAMETERS,
    async connect(params) {
      const con = new mod.TeradataConnection();
      con.connect(params);
      return new NodejsDriverSession(con);
    },
  };
}

class NodejsDriverSession implements TeradataSession {
  constructor(private readonly con: NodejsDriverConnection) {}

  async run(sql: string, params?: unknown[]): Promise<TeradataResult> {
    const cur = this.con.cursor();
    try {
      cur.execute(sql, params && params.length ? params : undefined);
      return readAll(cur);
    } finally {
      cur.close();
    }
  }
  async setAutocommit(on: boolean): Promise<void> {
    await this.run(on ? ESCAPE.autocommitOn : ESCAPE.autocommitOff);
  }
  async commit(): Promise<void> {
    await this.run(ESCAPE.commit);
  }
  async rollback(): Promise<void> {
    await this.run(ESCAPE.rollback);
  }
  async close(): Promise<void> {
    this.con.close();
  }
}
