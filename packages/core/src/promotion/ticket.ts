import type { ResolvedEnvironment } from '../config/resolve';
import { DbeeError } from '../errors';

/** Longest ticket the ledger keeps (the Teradata column's width). */
const MAX_TICKET_LENGTH = 256;

/**
 * The change ticket a command runs under, checked against the environment's `gates.requireTicket` before anything
 * runs: required (`true`, or a pattern) and, with a pattern, matching it. Returns the ticket, or null when none was
 * given (an empty `--ticket ""` is none) and none is required. Refuses (exit 1) a missing or non-matching ticket,
 * naming the gate, and a ticket with spaces before or after it: the ledger records exactly the ticket given, never a
 * trimmed one an auditor could not find as it was typed.
 */
export function checkTicket(
  environment: ResolvedEnvironment,
  ticket: string | undefined,
  command: string,
): string | null {
  if (ticket !== undefined && ticket !== ticket.trim()) {
    throw new DbeeError(`--ticket ${JSON.stringify(ticket)} has spaces before or after it: ${command} refused`, {
      code: 'TICKET_INVALID',
      hint: 'pass the ticket id exactly, without surrounding spaces, e.g. --ticket CHG-1234',
    });
  }
  const given = ticket || null;
  if (given !== null && (given.length > MAX_TICKET_LENGTH || /[\u0000-\u001f]/.test(given))) {
    throw new DbeeError(`--ticket must be one line of at most ${MAX_TICKET_LENGTH} characters`, {
      code: 'TICKET_INVALID',
      hint: 'pass the ticket id, e.g. --ticket CHG-1234',
    });
  }
  const rule = environment.gates.requireTicket;
  if (rule === undefined || rule === false) return given;
  const pattern = typeof rule === 'string' ? rule : null;
  if (given === null) {
    throw new DbeeError(
      `environment ${environment.name} requires a change ticket: ${command} refused, nothing was run`,
      {
        code: 'GATE_TICKET_REQUIRED',
        location: environment.declaredAt,
        hint: `pass --ticket <id>${pattern ? ` matching ${pattern}` : ''} (gates.requireTicket in dbee.yaml)`,
      },
    );
  }
  if (pattern !== null && !new RegExp(pattern).test(given)) {
    throw new DbeeError(
      `ticket "${given}" does not match ${pattern}, the pattern environment ${environment.name} requires: ${command} refused, nothing was run`,
      {
        code: 'GATE_TICKET_MISMATCH',
        location: environment.declaredAt,
        hint: `pass the approved change ticket's id, e.g. one matching ${pattern} (gates.requireTicket in dbee.yaml)`,
        details: { ticket: given, pattern },
      },
    );
  }
  return given;
}
