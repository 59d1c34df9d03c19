import { readFileSync } from 'node:fs';
import type { Document, LineCounter, Node } from 'yaml';
import type { z } from 'zod';
import { DbeeAggregateError, DbeeError, type ErrorLocation } from '../errors';
import type { ConfigCache } from './config-cache';

/** The YAML library, loaded when a file is parsed: a command whose files all come from the `ConfigCache` never loads it. */
const yamlLibrary = () => require('yaml') as typeof import('yaml');

/**
 * A YAML file parsed with positions, so every validation error can name the file, the line and the key.
 */
export class YamlFile {
  private constructor(
    /** Path as shown to users (workspace-relative when possible). */
    readonly displayPath: string,
    private readonly text: string,
    private parsed: { doc: Document.Parsed; lines: LineCounter } | undefined,
    /** The document's value when it came from the `ConfigCache`: the text is parsed only when a line is asked for. */
    private readonly kept?: unknown,
    /** The cache it was read through: it keeps what a schema made of the value too (`validateAs`). */
    private readonly cache?: ConfigCache,
  ) {}

  static read(absolutePath: string, displayPath: string, cache?: ConfigCache): YamlFile {
    let text: string;
    try {
      text = readFileSync(absolutePath, 'utf8');
    } catch (cause) {
      throw new DbeeError(`cannot read ${displayPath}`, {
        code: 'CONFIG_UNREADABLE',
        location: { file: displayPath },
        cause,
      });
    }
    const kept = cache?.value(displayPath, text);
    if (kept !== undefined) return new YamlFile(displayPath, text, undefined, kept, cache);
    const file = YamlFile.parse(text, displayPath, cache);
    cache?.keep(displayPath, text, file.toJS());
    return file;
  }

  static parse(text: string, displayPath: string, cache?: ConfigCache): YamlFile {
    const file = new YamlFile(displayPath, text, undefined, undefined, cache);
    const { doc, lines } = file.document();
    if (doc.errors.length > 0) {
      const errors = doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return new DbeeError(`malformed YAML: ${e.message.split('\n')[0]}`, {
          code: 'CONFIG_YAML_SYNTAX',
          location: { file: displayPath, line: pos?.line, column: pos?.col },
          hint: 'fix the YAML syntax (indentation, quotes, a missing colon)',
        });
      });
      throw errors.length === 1 ? errors[0]! : new DbeeAggregateError(`${displayPath} is not valid YAML`, errors);
    }
    return file;
  }

  private document(): { doc: Document.Parsed; lines: LineCounter } {
    if (!this.parsed) {
      const { LineCounter, parseDocument } = yamlLibrary();
      const lines = new LineCounter();
      const doc = parseDocument(this.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
      this.parsed = { doc, lines };
    }
    return this.parsed;
  }

  private get doc(): Document.Parsed {
    return this.document().doc;
  }

  private get lines(): LineCounter {
    return this.document().lines;
  }

  /** Plain JavaScript value of the document. */
  toJS(): unknown {
    return this.kept !== undefined ? structuredClone(this.kept) : this.doc.toJS();
  }

  /** Location of the node at `path`, or of its closest existing ancestor. */
  locate(path: ReadonlyArray<PropertyKey>): ErrorLocation {
    for (let depth = path.length; depth >= 0; depth--) {
      const sub = path.slice(0, depth) as (string | number)[];
      const node = (depth === 0 ? this.doc.contents : this.doc.getIn(sub, true)) as Node | undefined;
      // Point at the key rather than the value when we can: that is where a reader looks.
      const keyNode = depth > 0 ? this.keyNodeAt(sub) : undefined;
      const range = keyNode?.range ?? node?.range;
      if (range) {
        const pos = this.lines.linePos(range[0]);
        return { file: this.displayPath, line: pos.line, column: pos.col };
      }
    }
    return { file: this.displayPath, line: 1 };
  }

  private keyNodeAt(path: (string | number)[]): Node | undefined {
    const parent = (path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true)) as
      | Node
      | undefined;
    const last = path[path.length - 1];
    const { isMap, isSeq } = yamlLibrary();
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === last);
      return (pair?.key as Node | undefined) ?? undefined;
    }
    if (isSeq(parent) && typeof last === 'number') return parent.items[last] as Node | undefined;
    return undefined;
  }

  /**
   * `validate` with the schema `name` gives (loaded only when it is needed), what it made of the document kept in the
   * cache the file was read through: read back from there, the document is not validated again, and neither the
   * schema nor zod loads.
   */
  validateAs<T>(name: string, schema: () => z.ZodType<T>): T {
    const kept = this.cache?.validated(this.displayPath, this.text, name);
    if (kept !== undefined) return structuredClone(kept) as T;
    const valid = this.validate(schema());
    this.cache?.keepValidated(this.displayPath, this.text, name, valid);
    return valid;
  }

  /**
   * Validate the document with a zod schema. Every issue becomes an error naming file, line and key, and what
   * was expected; all issues are reported at once.
   */
  validate<T extends z.ZodType>(schema: T, value: unknown = this.toJS(), basePath: PropertyKey[] = []): z.infer<T> {
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    const errors = result.error.issues.map((issue) => {
      const path = [...basePath, ...issue.path];
      const key = path.length ? path.map(String).join('.') : '(document)';
      // Point at the offending key itself for unknown keys, not at the mapping that holds it.
      const at = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
      return new DbeeError(`${key}: ${describeIssue(issue)}`, {
        code: 'CONFIG_INVALID',
        location: this.locate(at),
        details: { key, issue: issue.code },
      });
    });
    if (errors.length === 1) throw errors[0]!;
    throw new DbeeAggregateError(`${this.displayPath} has ${errors.length} problems`, errors, 'CONFIG_INVALID');
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see the configuration reference in README.md)`;
    case 'invalid_type':
      return issue.input === undefined
        ? `required, expected ${issue.expected}`
        : `expected ${issue.expected}, got ${typeOf(issue.input)}`;
    case 'invalid_key':
      // A record's key failed its own schema (a variable or environment name): say why, not "Invalid key in record".
      return `key ${JSON.stringify(issue.path.length ? issue.path[issue.path.length - 1] : issue.input)}: ${issue.issues.map((i) => i.message).join('; ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(issue.input)}`;
    default:
      return issue.message;
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
