import type { z } from 'zod';
import type { EngineName } from '../config/units';
import type { ObjectKey } from '../model/object-key';
import type { SourceLocation } from '../model/source';
import type { PolicySubject } from './subject';

/** How a rule's finding is judged: `error` refuses a deployment before anything runs, `warning` is reported, `off` is not run. */
export type PolicyLevel = 'error' | 'warning' | 'off';

/** The part of the schema a rule is about, for docs/policies.md's table. */
export type PolicyCategory =
  | 'naming'
  | 'keys'
  | 'columns'
  | 'types'
  | 'indexes'
  | 'comments'
  | 'views'
  | 'routines'
  | 'security'
  | 'migrations';

/** One thing a rule found: the object and the place in the sources, and a sentence for people. */
export interface PolicyFinding {
  /** The rule's name, e.g. `table-primary-key`. */
  rule: string;
  level: Exclude<PolicyLevel, 'off'>;
  /** The object the finding is about (a table for its columns and constraints); null for a migration's statement. */
  object: ObjectKey | null;
  /** What is wrong and what to do, one line, e.g. `table sales.orders has no primary key: add one`. */
  message: string;
  /** Where in the sources; null when the object has no source file (found in a live database). */
  location: SourceLocation | null;
}

/** What a rule reports, before its level and location are added by the judge. */
export interface RawFinding {
  object: ObjectKey | null;
  message: string;
  /** A column, constraint or index name: the judge points at its line in the object's statement when it can. */
  near?: string;
  /** The statement's own location (migration rules); otherwise the object's. */
  location?: SourceLocation;
}

/**
 * A schema review rule: one module under `policies/rules/`, listed in `catalogue.ts`. A rule reads the subject (the
 * desired model of the objects judged, their sources, the migrations) with its parameters and returns what breaks it.
 */
export interface PolicyRule<P = Record<string, unknown>> {
  name: string;
  category: PolicyCategory;
  /** One sentence: what the rule asks of the schema, for `--help`, SARIF and docs/policies.md. */
  summary: string;
  /** Why a team wants it, one or two sentences for docs/policies.md. */
  why: string;
  /** The Bytebase SQL review rule it corresponds to, where one does (e.g. `table.require-pk`). */
  bytebase?: string;
  /** Level in the documented default set (what `dbee check --policies` judges when no `policies:` is configured). */
  defaultLevel: PolicyLevel;
  /**
   * The engines whose projects the rule judges; a project of another engine is not judged by it (its level is `off`
   * there, whatever `policies:` says). A rule that reads the desired model (tables, columns, views, routines, grants)
   * needs an engine that builds one in a shadow database (PostgreSQL); a rule over a migration's statements or files
   * names every engine whose SQL it reads correctly (Teradata's `DEL`, `INS`, `BT`/`ET` included), e.g.
   * `['postgres', 'teradata']`.
   */
  engines: readonly EngineName[];
  /** Its parameters (a strict object; every key optional), their defaults filled in by `parse`. */
  params: z.ZodType<P>;
  /**
   * Examples in the engine's SQL, each run in a scratch schema `app` by the rule's test: the rule fires on `forbid`
   * (at least once) and stays quiet on `allow`. `migration`: the example is a migration's text, not object files.
   */
  examples: { forbid: string; allow: string; migration?: boolean; params?: Record<string, unknown> };
  check(subject: PolicySubject, params: P): RawFinding[];
}

/** A rule with its parameters' type forgotten: what the catalogue holds. */
// biome-ignore lint/suspicious/noExplicitAny: a table of rules of different parameter types
export type AnyPolicyRule = PolicyRule<any>;
