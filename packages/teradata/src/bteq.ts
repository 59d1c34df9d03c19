import { createHash } from 'node:crypto';
import { DbeeError, formatKey, type Plan, type PlanStep } from '@dbee/core';
import { expandPlaceholders } from './placeholders';
import { quoteString } from './teradata-identifiers';
import { ledgerTable, TERADATA_LEDGER_DATABASE } from './teradata-ledger';
import { tokenize } from './splitter';

/**
 * Export a plan as a BTEQ script (and its rollback script), for sites where deployments must run through BTEQ.
 *
 * Layout: session settings BEFORE the logon (BTEQ refuses TRANSACTION changes once logged on); the logon itself is
 * never in the script, it is read with `.RUN FILE=<logon file>`; then `.SET ERROROUT STDOUT` and `.SET ECHOREQ ON`;
 * each request ends with `;` as the last non-blank character of its last line and is followed by an ERRORCODE test.
 *
 * Return codes (`.QUIT n`): 0 success; 2, 4, 8, 12 are BTEQ's own (e.g. a failed logon); 16 a ledger write failed;
 * 16 + i when step i failed (17 for step 1 ... 254 for step 238); 255 for a step numbered 239 or more (the ledger
 * row and the echoed output say which). Exit statuses are one byte on POSIX, hence the cap.
 */

export interface BteqLedgerOptions {
  /** Ledger database. Default `DBEE_LEDGER`. */
  database?: string;
  /** Id of the deployment row the script writes. Default: the UTC time as the number yyyymmddhhmmss. */
  deploymentId?: number;
  /** Project name recorded in the ledger. Default: the plan's projects joined with ",". */
  project?: string;
  environment: string;
  /** Checksum of the plan or package. Default: sha256 of the plan's steps. */
  planChecksum?: string;
  /** Recorded as `tool_version`. Default `dbee-bteq`. */
  toolVersion?: string;
  /** For a rollback script: the id of the deployment it reverts. */
  reverts?: number;
}

export interface BteqOptions {
  /**
   * File holding the `.LOGON tdpid/user,password` line (and `.LOGMECH` if any), read with `.RUN FILE=`. Default:
   * `$DBEE_BTEQ_LOGON`, else `logon.btq` (relative to where BTEQ runs). Keep it out of version control.
   */
  logonFile?: string;
  /** `.SET SESSION TRANSACTION`: BTET (Teradata mode, default) or ANSI. Must match how procedures are called. */
  transactionMode?: 'BTET' | 'ANSI';
  /** `.SET SESSION CHARSET`. Default `UTF8`. */
  charset?: string;
  /** Values for `{{name}}` placeholders in the steps' statements (the target environment's variables). */
  variables?: Record<string, string>;
  /** Write the deployment and its steps to the ledger as the script runs; `false` leaves it out. */
  ledger?: BteqLedgerOptions | false;
  /** Time used for the default deployment id. Default now. */
  now?: Date;
  /** Rollback only: skip steps whose reverse is unknown instead of refusing to export. */
  skipUnknownReverse?: boolean;
}

/** Return code of a failed step (1-based index in the script). */
export function bteqReturnCode(stepIndex: number): number {
  return stepIndex <= 238 ? 16 + stepIndex : 255;
}
/** Return code when a ledger write fails. */
export const BTEQ_LEDGER_FAILED = 16;

/**
 * A request as BTEQ needs it: BTEQ ends a request at a `;` that is the last non-blank character of a line, so an
 * inner line that ends with `;` (macro and procedure bodies, comments) gets a trailing ` --` (an empty SQL comment,
 * ignored by the database but not by BTEQ's line scan), and the terminating `;` goes on its own line when the last
 * line is a `--` comment. A line that ends with `;` inside a multi-line string literal cannot be fixed: refused.
 */
export function bteqRequest(sql: string): string {
  let text = sql.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  const tokens = tokenize(text, '<step>');
  const significant = tokens.filter((t) => t.type !== 'whitespace');
  const last = significant[significant.length - 1];
  if (last?.type === 'semicolon') text = text.slice(0, last.start).replace(/\s+$/, '');
  const inString = (pos: number): boolean => tokens.some((t) => (t.type === 'string' || t.type === 'quoted') && t.start < pos && pos < t.end - 1);
  // When the text ends in a `--` comment, the terminator goes on a line of its own, so the last line is inner too.
  const endsInLineComment = tokenize(text, '<step>').filter((t) => t.type !== 'whitespace').pop()?.type === 'line-comment';
  const lines = text.split('\n');
  let offset = 0;
  const out: string[] = [];
  lines.forEach((line, i) => {
    const trimmed = line.replace(/\s+$/, '');
    if ((i < lines.length - 1 || endsInLineComment) && trimmed.endsWith(';')) {
      const pos = offset + trimmed.length - 1;
      if (inString(pos)) {
        throw new DbeeError('a line inside a string literal ends with ";", which BTEQ would take as the end of the request', {
          code: 'BTEQ_UNSUPPORTED',
          hint: 'move the ";" inside the string so that it is not the last character of its line, or deploy without BTEQ',
          details: { line: i + 1, text: trimmed.slice(-80) },
        });
      }
      out.push(trimmed + ' --');
    } else out.push(line);
    offset += line.length + 1;
  });
  return endsInLineComment ? out.join('\n') + '\n;' : out.join('\n') + ';';
}

function remark(text: string): string {
  return `.REMARK ${quoteString(text.replace(/[\r\n]+/g, ' '))}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function defaultDeploymentId(now: Date): number {
  const iso = now.toISOString();
  return Number(iso.slice(0, 19).replace(/[-T:]/g, ''));
}

interface ScriptStep {
  step: PlanStep;
  statements: string[];
}

function header(options: BteqOptions): string[] {
  const logon = options.logonFile ?? process.env.DBEE_BTEQ_LOGON ?? 'logon.btq';
  if (/[\s;]/.test(logon)) {
    throw new DbeeError(`BTEQ logon file path "${logon}" contains a space or ";"`, {
      code: 'CONFIG_INVALID',
      hint: 'use a path without spaces or semicolons for the logon file (option logonFile or DBEE_BTEQ_LOGON)',
    });
  }
  const charset = options.charset ?? 'UTF8';
  return [
    `.SET SESSION TRANSACTION ${options.transactionMode ?? 'BTET'}`,
    `.SET SESSION CHARSET ${quoteString(charset)}`,
    `.RUN FILE=${logon}`,
    '.SET ERROROUT STDOUT',
    '.SET ECHOREQ ON',
  ];
}

function script(plan: Plan, steps: ScriptStep[], kind: 'deploy' | 'rollback', options: BteqOptions): string {
  const vars = options.variables ?? {};
  const expand = (s: string): string => expandPlaceholders(s, vars);
  const ledger = options.ledger === false ? null : options.ledger;
  const lines: string[] = [...header(options), ''];
  const db = ledger?.database ?? TERADATA_LEDGER_DATABASE;
  const id = ledger ? (ledger.deploymentId ?? defaultDeploymentId(options.now ?? new Date())) : 0;
  const deployments = ledgerTable(db, 'deployments');
  const stepsTable = ledgerTable(db, 'steps');
  const ledgerCheck = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;

  lines.push(remark(`dbee ${kind}: ${steps.length} step${steps.length === 1 ? '' : 's'} of ${plan.projects.join(', ') || 'plan'}${ledger ? `, deployment ${id}` : ''}`));
  if (ledger) {
    const checksum = ledger.planChecksum ?? sha256(JSON.stringify(plan.steps));
    const cols = ['"id"', '"project"', '"environment"', '"kind"', '"plan_checksum"', '"tool_version"', '"status"', '"steps_total"', ...(ledger.reverts !== undefined ? ['"reverts"'] : [])];
    const vals = [
      String(id),
      quoteString(ledger.project ?? plan.projects.join(',')),
      quoteString(ledger.environment),
      quoteString(kind),
      quoteString(checksum),
      quoteString(ledger.toolVersion ?? 'dbee-bteq'),
      quoteString('running'),
      String(steps.length),
      ...(ledger.reverts !== undefined ? [String(ledger.reverts)] : []),
    ];
    lines.push(`INSERT INTO ${deployments} (${cols.join(', ')}) VALUES (${vals.join(', ')});`, ledgerCheck);
  }
  const stepRow = (s: ScriptStep, order: number, status: 'applied' | 'failed', statements: string[]): string =>
    `INSERT INTO ${stepsTable} ("deployment_id", "step_order", "object_key", "action", "checksum", "statements", "transactional", "started_at", "status") ` +
    `VALUES (${id}, ${order}, ${quoteString(expand(formatKey(s.step.objectKey)))}, ${quoteString(s.step.action)}, ${quoteString(s.step.checksum)}, ` +
    `${quoteString(JSON.stringify(statements.map((x) => 'sha256:' + sha256(x))))}, ${s.step.transactional ? 1 : 0}, CURRENT_TIMESTAMP(6), ${quoteString(status)});`;

  const failures: string[] = [];
  steps.forEach((s, idx) => {
    const n = idx + 1;
    const code = bteqReturnCode(n);
    const statements = s.statements.map(expand);
    const onError = ledger ? `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}` : `.IF ERRORCODE <> 0 THEN .QUIT ${code}`;
    const what = `${s.step.action} ${expand(s.step.key)}`;
    lines.push('', remark(`step ${n}/${steps.length}: ${kind === 'rollback' ? `undo plan step ${s.step.order} (${what})` : what}`));
    if (!statements.length) lines.push(remark('nothing to run'));
    for (const st of statements) lines.push(bteqRequest(st), onError);
    if (ledger) {
      lines.push(stepRow(s, n, 'applied', statements), ledgerCheck);
      failures.push(
        '',
        `.LABEL FAIL_${n}`,
        stepRow(s, n, 'failed', statements),
        `UPDATE ${deployments} SET "status" = 'failed', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = ${n - 1}, ` +
          `"error" = ${quoteString(`step ${n} (${expand(s.step.key)}) failed; see the BTEQ output`)} WHERE "id" = ${id};`,
        '.LOGOFF',
        `.QUIT ${code}`,
      );
    }
  });
  lines.push('');
  if (ledger) {
    lines.push(
      `UPDATE ${deployments} SET "status" = 'succeeded', "finished_at" = CURRENT_TIMESTAMP(6), "steps_applied" = ${steps.length} WHERE "id" = ${id};`,
      ledgerCheck,
    );
  }
  lines.push('.LOGOFF', '.QUIT 0', ...failures);
  return lines.join('\n') + '\n';
}

/** The deploy script of a plan (see the module comment for layout and return codes). */
export function toBteq(plan: Plan, options: BteqOptions = {}): string {
  return script(plan, plan.steps.map((step) => ({ step, statements: step.statements })), 'deploy', options);
}

/**
 * The rollback script of a plan: every step's reverse statements, last step first. Refuses (`ROLLBACK_UNKNOWN`)
 * when a step's reverse is unknown, unless `skipUnknownReverse`. Plans prepared against the target with
 * `prepareTeradataPlan` carry exact reverses (SHOW text, backup names).
 */
export function toBteqRollback(plan: Plan, options: BteqOptions = {}): string {
  const unknown = plan.steps.filter((s) => s.reverse === null);
  if (unknown.length && !options.skipUnknownReverse) {
    throw new DbeeError(`no reverse is known for ${unknown.length} step${unknown.length > 1 ? 's' : ''}: ${unknown.map((s) => s.key).join(', ')}`, {
      code: 'ROLLBACK_UNKNOWN',
      hint: 'prepare the plan against the target (prepareTeradataPlan) so reverses come from the live definitions, or pass skipUnknownReverse',
      details: { steps: unknown.map((s) => s.order) },
    });
  }
  const steps = [...plan.steps]
    .reverse()
    .filter((s) => s.reverse !== null)
    .map((step) => ({ step, statements: step.reverse! }));
  return script(plan, steps, 'rollback', options);
}
