import type { Diagnostic } from './diagnostic';
import { RULES_BY_NAME } from '../policies';

/** The review formats: GitHub workflow annotations, SARIF 2.1.0 (code scanning), gcc's `file:line:col:` lines. */
export const REVIEW_FORMATS = ['github', 'sarif', 'gcc'] as const;
export type ReviewFormat = (typeof REVIEW_FORMATS)[number];

/** Whether a `--format` value is one of the review formats. */
export function isReviewFormat(format: string | undefined): format is ReviewFormat {
  return (REVIEW_FORMATS as readonly string[]).includes(format ?? '');
}

/** What the tool says about itself in SARIF's `tool.driver`. */
export interface ToolInfo {
  /** dbee's version. */
  version: string;
  /** The command that found the diagnostics (`diff`, `plan`, `check`): SARIF's `automationDetails`. */
  command: string;
}

/** The diagnostics in one of the review formats, ending with a newline (nothing at all for none in github and gcc). */
export function formatDiagnostics(format: ReviewFormat, diagnostics: readonly Diagnostic[], tool: ToolInfo): string {
  if (format === 'sarif') return `${JSON.stringify(sarif(diagnostics, tool), null, 2)}\n`;
  const lines = diagnostics.map(format === 'github' ? githubAnnotation : gccLine);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * `::error file=F,line=L,col=C,title=T::message`, the workflow command GitHub turns into an annotation on the pull
 * request's file. One line each: the message's `%`, CR and LF are escaped as the runner documents, and a property's
 * `:` and `,` too.
 */
export function githubAnnotation(d: Diagnostic): string {
  const props = [
    ...(d.file ? [`file=${escapeProperty(d.file)}`, `line=${d.line}`, `col=${d.column}`] : []),
    `title=${escapeProperty(`dbee ${d.rule}`)}`,
  ];
  return `::${d.severity} ${props.join(',')}::${escapeData(d.message)}`;
}

/** `file:line:col: severity: message [rule]`, the line editors' problem matchers read (`dbee: ...` without a file). */
export function gccLine(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line}:${d.column}` : 'dbee';
  return `${where}: ${d.severity}: ${d.message.replace(/\r?\n/g, ' ')} [${d.rule}]`;
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** A SARIF 2.1.0 log of one run: the rules that fired, and each diagnostic as a result at its file and line. */
function sarif(diagnostics: readonly Diagnostic[], tool: ToolInfo): object {
  const rules = [...new Set(diagnostics.map((d) => d.rule))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dbee',
            version: tool.version,
            informationUri: 'https://www.npmjs.com/package/@dbee/cli',
            rules: rules.map((id) => ({ id, shortDescription: { text: ruleDescription(id) } })),
          },
        },
        automationDetails: { id: `dbee/${tool.command}/` },
        results: diagnostics.map((d) => ({
          ruleId: d.rule,
          ruleIndex: rules.indexOf(d.rule),
          level: d.severity,
          message: { text: d.message },
          ...(d.file
            ? {
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri: d.file, uriBaseId: '%SRCROOT%' },
                      region: { startLine: d.line, startColumn: d.column },
                    },
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
}

/** A rule's one-line description for SARIF (code scanning lists alerts by it). */
function ruleDescription(id: string): string {
  const [family, kind, rule] = id.split('/');
  if (family === 'policy') return RULES_BY_NAME.get(kind ?? '')?.summary ?? `The schema review policy ${kind}`;
  if (family === 'hazard') return `A deployment step with the hazard ${kind}${rule ? ` (lint rule ${rule})` : ''}`;
  if (kind === 'broken-query') return 'An application query that fails after the planned changes';
  if (kind === 'changed-result') return 'An application query whose result columns the planned changes alter';
  return "A new application version's query that fails after the planned changes";
}
