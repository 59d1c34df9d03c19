// A BTEQ interpreter for tests: runs a BTEQ script's requests on a session of the Teradata test double and honours
// the dot-commands dbee's scripts use, as the Basic Teradata Query Reference (B035-2414) describes them:
// - `.LOGON` / `.RUN FILE=<logon file>`: taken as the logon (nothing read). `.LOGOFF` "Terminates the user's database
//   sessions without exiting from BTEQ" (BTEQ Reference, "LOGOFF"): the session ends (a transaction still open is
//   rolled back, as for any session that ends: SQL Request and Transaction Processing, "Transaction Rollback"), and
//   an SQL request after it is not sent: BTEQ warns and goes on (BTEQ Return Codes: 02, "an SQL request instruction
//   was given without any sessions being logged on"); the warning raises ERRORLEVEL to 2. With `logon: 'fails'`
//   the logon fails as a wrong password does (8017, ERRORLEVEL 8), and later SQL requests are not sent: BTEQ "had to
//   produce a warning to alert that an SQL request instruction was given without any sessions being logged on" (BTEQ
//   Return Codes: 02). What ERRORCODE and ACTIVITYCOUNT then hold is not documented; the interpreter takes the case
//   that can hide the failure, 0 and 0 (verify on a live system: the live suite does).
// - `SELECT SESSION`: the session number, one row.
// - `.SET SESSION TRANSACTION BTET|ANSI` (before the logon): ANSI sessions run with auto-commit off, so every request
//   belongs to a transaction that only `COMMIT` ends, and the double raises 3722 after an uncommitted DDL. The
//   double's session must have been made with the same tmode.
// - BTET mode: `BT;` opens an explicit transaction, `ET;` commits it, `ABORT;` (or `ROLLBACK;`) rolls it back and fails
//   with 3514; ANSI: `COMMIT;`, `ROLLBACK;`.
// - Status values ("Status Value Keywords"): ERRORCODE (0 or the database error of the last request), ACTIVITYCOUNT
//   (rows returned or affected; for a procedure that did not compile, the number of SPL messages), WARNINGCODE (the
//   first warning of the last request), ERRORLEVEL (highest severity seen, never reset).
// - `.IF <status> <op> <integer> THEN <command>`, `.GOTO <label>` (forward only, to the next `.LABEL <label>`),
//   `.LABEL`, `.QUIT [n]` / `.EXIT [n]` (without n: ERRORLEVEL), `.SET ERRORLEVEL <code>|(<codes>)|UNKNOWN SEVERITY n`
//   (default severity of an error: 8). Other `.SET`s and `.REMARK` are ignored; an unknown command fails the test.
// - `.EXPORT REPORT FILE=<name>` ... `.EXPORT RESET`: the rows of the SELECTs in between go to a file (kept in memory)
//   as a report: per result, a line of column titles (blank when every title is `(TITLE '')`), a line of dashes unless
//   `.SET TITLEDASHES OFF`, then one line per row, its values separated by a space, cut at `.SET WIDTH` (default 75)
//   (`.SET FOLDLINE ON|OFF n, ...`: after column n a row goes on on a new line, offset by two characters; a line
//   longer than WIDTH is cut; "EXPORT", "TITLEDASHES", "WIDTH", "FOLDLINE": BTEQ Reference; the exact spacing of a
//   report is not modelled). `.RUN FILE=`
//   of such a file runs its requests and commands there; of any other file it is the logon.
// - A SQL request ends at a `;` that is the last non-blank character of a line; end of script = `.QUIT ERRORLEVEL`.
// - `.SET RETRY ON|OFF` (ON by default: "If the RETRY command has not been used, its value is ON by default"): with
//   RETRY ON a request that fails with one of the codes RETRY names (2631 "Transaction aborted due to ...", 3598 and
//   3603 "Concurrent change conflict ... try again", among others: BTEQ Reference, "RETRY") is resubmitted, alone:
//   "The BTEQ RETRY command, however, only resubmits the request that failed. If the request was embedded in a
//   transaction ..., the effects of any statements before the failed request are lost, as is any indication that a
//   database transaction is in progress" (BTEQ Reference, "Disabling the Retry Function", "When an SQL Statement Fails
//   in Teradata Mode"). The double rolls the transaction back (fake-connection.ts, TRANSACTION_ABORTS); the resubmitted
//   request runs outside it, so a later `ET;` has no transaction to end.
// - BTET mode: an `ET;` with no transaction open fails with 3510 "Too many END TRANSACTION statements" (Messages,
//   3510; verify the text on a live system).
import type { FakeTeradataSession } from './fake-connection';

export interface BteqRun {
  /** BTEQ's exit code. */
  exitCode: number;
  /** Requests sent to the session, in order. */
  requests: string[];
  /** `.REMARK` texts and errors, in order (what BTEQ would echo). */
  output: string[];
  /** SQL requests the script gave while no session was logged on (after a failed logon or `.LOGOFF`): not sent. */
  notSent: string[];
}

interface Line {
  text: string;
  /** Line number (1-based) in the script. */
  line: number;
}

type Item = { kind: 'command'; text: string; line: number } | { kind: 'request'; text: string; line: number };

function parse(script: string): Item[] {
  const lines: Line[] = script
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }));
  const items: Item[] = [];
  let request: string[] = [];
  let start = 0;
  for (const l of lines) {
    if (!request.length && /^\s*\./.test(l.text)) {
      items.push({ kind: 'command', text: l.text.trim(), line: l.line });
      continue;
    }
    if (!request.length && !l.text.trim()) continue;
    if (!request.length) start = l.line;
    request.push(l.text);
    if (/;\s*$/.test(l.text)) {
      const text = request.join('\n').replace(/;\s*$/, '');
      items.push({ kind: 'request', text, line: start });
      request = [];
    }
  }
  if (request.length) throw new Error(`BTEQ script: request at line ${start} has no terminating ";"`);
  return items;
}

/** Codes on which BTEQ's RETRY resubmits a request (BTEQ Reference, "RETRY", "Usage Notes"; the ones the double raises). */
export const BTEQ_RETRY_CODES: ReadonlySet<number> = new Set([2631, 2639, 2641, 3111, 3598, 3603, 5880]);

function errorCode(error: unknown): number {
  const m = /\[Error (\d+)\]/.exec(error instanceof Error ? error.message : String(error));
  return m ? Number(m[1]) : 9999;
}

/** How the interpreter's logon goes. */
export interface BteqRunOptions {
  /** `fails`: the logon is refused (a wrong password), see the file comment. Default `succeeds`. */
  logon?: 'succeeds' | 'fails';
  /**
   * Kill BTEQ before it sends its `kill`-th request (1-based): the script stops there with exit code -1 and its
   * session ends, so the database rolls back the transaction it had open (an aborted session's open transaction is
   * rolled back: SQL Request and Transaction Processing, "Transaction Rollback"). Used to walk every cut point.
   */
  kill?: number;
  /** Kill BTEQ (as `kill`) before it sends the first request for which this is true. */
  killWhen?: (request: string) => boolean;
  /**
   * What a `.OS <command>` does (BTEQ Reference, "OS": the command goes to the client's operating system; the scripts
   * use it only for `sleep` between the tries of a NOWAIT lock). The interpreter runs no command: it records the line in
   * `oses` and calls this, so that a test can end a reader's lock at the n-th wait. Default: nothing.
   */
  onOs?: (command: string) => void | Promise<void>;
}

/** Thrown to stop the interpreter at `kill`. */
class Killed extends Error {}

/** Run `script` on `session` (see the file comment). */
export async function runBteq(
  script: string,
  session: FakeTeradataSession,
  options: BteqRunOptions = {},
): Promise<BteqRun> {
  const items = parse(script);
  const requests: string[] = [];
  const output: string[] = [];
  const severities = new Map<number, number>();
  let unknownSeverity = 8;
  let mode: 'BTET' | 'ANSI' = 'BTET';
  let loggedOn = false;
  let logonFailed = false;
  let loggedOff = false;
  // SQL requests BTEQ did not send (no session: after a failed logon or a `.LOGOFF`).
  const notSent: string[] = [];
  let status = { ERRORCODE: 0, ACTIVITYCOUNT: 0, WARNINGCODE: 0, ERRORLEVEL: 0 };
  const files = new Map<string, string[]>();
  let exporting: string[] | null = null;
  let titleDashes = true;
  let width = 75;
  // Columns (1-based) after which a report row goes on (FOLDLINE ON n, ...).
  let foldAfter = new Set<number>();
  // BTEQ's RETRY: ON until `.SET RETRY OFF`.
  let retry = true;

  const quit = (code: number): BteqRun => ({ exitCode: code, requests, output, notSent });

  const logon = async () => {
    if (options.logon === 'fails') {
      logonFailed = true;
      output.push('*** Failure 8017 The UserId, Password or Account is invalid.');
      status = { ...status, ERRORCODE: 8017, ACTIVITYCOUNT: 0, ERRORLEVEL: Math.max(status.ERRORLEVEL, 8) };
      return;
    }
    loggedOn = true;
    if (mode === 'ANSI') {
      if (session.tmode !== 'ANSI')
        throw new Error('BTEQ script sets ANSI mode: give the interpreter a session made with tmode ANSI');
      await session.setAutocommit(false);
    } else if (session.tmode !== 'TERA')
      throw new Error('BTEQ script runs in BTET mode: give the interpreter a session made with tmode TERA');
  };

  const sendRequest = async (text: string, resubmitted = 0): Promise<void> => {
    if (!loggedOn && (logonFailed || loggedOff)) {
      notSent.push(text);
      output.push('*** Warning: You must LOGON before sending SQL requests.');
      status = {
        ...status,
        ERRORCODE: 0,
        ACTIVITYCOUNT: 0,
        WARNINGCODE: 0,
        ERRORLEVEL: Math.max(status.ERRORLEVEL, 2),
      };
      return;
    }
    if (!loggedOn) throw new Error('BTEQ script sends a request before logging on');
    if (options.kill !== undefined && requests.length + 1 >= options.kill) throw new Killed();
    if (options.killWhen?.(text)) throw new Killed();
    requests.push(text);
    const head = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '';
    try {
      let rowCount = 0;
      let warning = 0;
      if (mode === 'BTET' && (head === 'BT' || head === 'ET')) {
        if (head === 'BT') await session.setAutocommit(false);
        else if (session.autocommit) {
          // No BT open: the transaction it belonged to was aborted (a failed request, or RETRY's resubmission).
          throw new Error('[Error 3510] Too many END TRANSACTION statements.');
        } else {
          await session.commit();
          await session.setAutocommit(true);
        }
      } else if (mode === 'BTET' && (head === 'ABORT' || head === 'ROLLBACK')) {
        // "ABORT ... terminates the current transaction and rolls it back" (SQL Data Manipulation Language, ABORT; in
        // Teradata mode ROLLBACK is the same): the response is failure 3514, "User-generated transaction ABORT".
        if (!session.autocommit) {
          await session.rollback();
          await session.setAutocommit(true);
        }
        throw new Error('[Error 3514] User-generated transaction ABORT.');
      } else if (mode === 'ANSI' && (head === 'COMMIT' || head === 'ROLLBACK')) {
        if (head === 'COMMIT') await session.commit();
        else await session.rollback();
      } else if (/^\s*SELECT\s+SESSION\s*$/i.test(text)) {
        rowCount = 1;
      } else {
        const r = await session.run(text);
        rowCount = r.rowCount ?? 0;
        warning = r.warnings?.[0]?.code ?? 0;
        if (exporting)
          for (const set of r.resultSets) {
            // FOLDLINE: after a column it names, the row goes on on a new line, offset by two characters.
            const line = (parts: string[]) => {
              const out = [''];
              parts.forEach((p, i) => {
                out[out.length - 1] += (out[out.length - 1]!.trim() ? ' ' : '') + p;
                if (foldAfter.has(i + 1) && i < parts.length - 1) out.push('  ');
              });
              return out.map((l) => l.slice(0, width));
            };
            exporting.push(...line(set.columns).map((l) => l.trimEnd()));
            if (titleDashes) exporting.push(...line(set.columns.map((c) => '-'.repeat(Math.max(c.length, 1)))));
            for (const row of set.rows) exporting.push(...line(row.map((v) => String(v ?? '?'))));
          }
      }
      status = { ...status, ERRORCODE: 0, ACTIVITYCOUNT: rowCount, WARNINGCODE: warning };
    } catch (error) {
      const code = errorCode(error);
      output.push(`*** Failure ${code} ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      // A failed request ends an explicit BTET transaction (the double rolled it back).
      if (mode === 'BTET' && !session.autocommit) await session.setAutocommit(true);
      if (retry && BTEQ_RETRY_CODES.has(code) && resubmitted < 5) {
        output.push('*** Warning: RETRY is ON: the request is resubmitted.');
        return sendRequest(text, resubmitted + 1);
      }
      const severity = severities.get(code) ?? unknownSeverity;
      status = {
        ...status,
        ERRORCODE: code,
        ACTIVITYCOUNT: 0,
        WARNINGCODE: 0,
        ERRORLEVEL: Math.max(status.ERRORLEVEL, severity),
      };
    }
  };

  const condition = (text: string, line: number): boolean => {
    const m = /^(ERRORCODE|ACTIVITYCOUNT|WARNINGCODE|ERRORLEVEL)\s*(<>|!=|>=|<=|=|>|<)\s*(\d+)$/i.exec(text.trim());
    if (!m) throw new Error(`BTEQ script line ${line}: condition "${text}" not understood`);
    const v = status[m[1]!.toUpperCase() as keyof typeof status];
    const n = Number(m[3]);
    switch (m[2]) {
      case '=':
        return v === n;
      case '<>':
      case '!=':
        return v !== n;
      case '>':
        return v > n;
      case '<':
        return v < n;
      case '>=':
        return v >= n;
      default:
        return v <= n;
    }
  };

  let pc = 0;
  // Returns the exit code when the command ends the script, a label to jump to, or null.
  const command = async (text: string, line: number): Promise<{ exit?: number; goto?: string } | null> => {
    const m = /^\.(\w+)\s*(.*)$/.exec(text);
    if (!m) throw new Error(`BTEQ script line ${line}: "${text}" is not a command`);
    const name = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    switch (name) {
      case 'REMARK':
        output.push(rest.replace(/^'(.*)'$/, '$1').replace(/''/g, "'"));
        return null;
      case 'RUN': {
        const file = /^FILE\s*=\s*(\S+)$/i.exec(rest)?.[1];
        const exported = file ? files.get(file) : undefined;
        if (!exported) {
          await logon();
          return null;
        }
        items.splice(pc, 0, ...parse(exported.join('\n')));
        return null;
      }
      case 'LOGON':
        await logon();
        return null;
      case 'EXPORT': {
        if (/^RESET$/i.test(rest)) {
          exporting = null;
          return null;
        }
        const file = /^REPORT\s+FILE\s*=\s*(\S+)$/i.exec(rest)?.[1];
        if (!file)
          throw new Error(`BTEQ script line ${line}: .EXPORT ${rest} is not supported by the test interpreter`);
        exporting = [];
        files.set(file, exporting);
        return null;
      }
      case 'LOGOFF':
        if (loggedOn) {
          if (session.inTransaction || !session.autocommit) await session.rollback();
          await session.setAutocommit(true);
          loggedOn = false;
          loggedOff = true;
          output.push('*** You are now logged off from the DBC.');
        }
        return null;
      case 'LABEL':
        return null;
      case 'OS':
        output.push(`.OS ${rest}`);
        await options.onOs?.(rest);
        return null;
      case 'QUIT':
      case 'EXIT':
        return { exit: rest ? Number(rest) : status.ERRORLEVEL };
      case 'GOTO':
        return { goto: rest.toUpperCase() };
      case 'IF': {
        const im = /^(.*?)\s+THEN\s+(.*)$/i.exec(rest);
        if (!im) throw new Error(`BTEQ script line ${line}: IF without THEN`);
        if (!condition(im[1]!, line)) return null;
        const then = im[2]!.trim();
        if (then.startsWith('.')) return command(then, line);
        await sendRequest(then.replace(/;\s*$/, ''));
        return null;
      }
      case 'SET': {
        const tm = /^SESSION\s+TRANSACTION\s+(BTET|ANSI)$/i.exec(rest);
        if (tm) {
          if (loggedOn)
            throw new Error(`BTEQ script line ${line}: .SET SESSION TRANSACTION after the logon (BTEQ refuses it)`);
          mode = tm[1]!.toUpperCase() as 'BTET' | 'ANSI';
          return null;
        }
        const em = /^ERRORLEVEL\s+(\(([\d\s,]+)\)|\d+|UNKNOWN)\s+SEVERITY\s+(\d+)$/i.exec(rest);
        if (em) {
          const severity = Number(em[3]);
          if (em[1]!.toUpperCase() === 'UNKNOWN') unknownSeverity = severity;
          else for (const c of (em[2] ?? em[1]!).split(',')) severities.set(Number(c.trim()), severity);
          return null;
        }
        const dm = /^TITLEDASHES\s+(ON|OFF)$/i.exec(rest);
        if (dm) {
          titleDashes = dm[1]!.toUpperCase() === 'ON';
          return null;
        }
        const fm = /^FOLDLINE\s+(ON|OFF)\s+([\d,\s]+)$/i.exec(rest);
        if (fm) {
          const columns = fm[2]!
            .split(/[,\s]+/)
            .filter(Boolean)
            .map(Number);
          if (fm[1]!.toUpperCase() === 'ON') for (const n of columns) foldAfter.add(n);
          else foldAfter = new Set([...foldAfter].filter((n) => !columns.includes(n)));
          return null;
        }
        const rm = /^RETRY\s+(ON|OFF)$/i.exec(rest);
        if (rm) {
          retry = rm[1]!.toUpperCase() === 'ON';
          return null;
        }
        const wm = /^WIDTH\s+(\d+)$/i.exec(rest);
        if (wm) {
          width = Number(wm[1]);
          return null;
        }
        return null; // CHARSET, ERROROUT, ECHOREQ...: no effect here
      }
      default:
        throw new Error(`BTEQ script line ${line}: command .${name} is not supported by the test interpreter`);
    }
  };

  try {
    return await loop();
  } catch (error) {
    if (!(error instanceof Killed)) throw error;
    if (session.inTransaction || !session.autocommit) await session.rollback();
    await session.setAutocommit(true);
    await session.close();
    return quit(-1);
  }

  async function loop(): Promise<BteqRun> {
    while (pc < items.length) {
      const item = items[pc]!;
      pc++;
      if (item.kind === 'request') {
        await sendRequest(item.text);
        continue;
      }
      const r = await command(item.text, item.line);
      if (r?.exit !== undefined) return quit(r.exit);
      if (r?.goto) {
        const target = items.findIndex(
          (it, i) => i >= pc && it.kind === 'command' && new RegExp(`^\\.LABEL\\s+${r.goto}\\s*$`, 'i').test(it.text),
        );
        if (target < 0) throw new Error(`BTEQ script line ${item.line}: .GOTO ${r.goto} finds no later .LABEL`);
        pc = target + 1;
      }
    }
    return quit(status.ERRORLEVEL);
  }
}
