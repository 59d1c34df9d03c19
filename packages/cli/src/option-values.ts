import type { CommandName, CommandOptions, OptionEntry } from '@dbee/core/options';
import { COMMAND_TABLE } from './command-table';

/**
 * A command's options validated without zod, from the generated table of its options (commands.generated.json):
 * what a command line holds (texts, switches, repeated texts) and what an Nx target usually holds, each value one the
 * command's schema (packages/core/src/options) accepts as it is. The result is the schema's own output (defaults
 * applied, `30` a number, `a,b` a list); `undefined` when any value is not one of those (a wrong value, an unknown
 * option, a missing argument, a test's clock): the caller then validates with the schema itself, which loads zod and
 * says what is wrong in its words. So a command that is given valid options loads neither zod nor any option schema,
 * and a wrong option still gets every message it got before. option-values.test.ts checks, for every option of every
 * command, that what this accepts the schema accepts with the same output.
 */
export function validOptions<K extends CommandName>(
  command: K,
  raw: Record<string, unknown>,
): CommandOptions<K> | undefined {
  const entries = COMMAND_TABLE[command]?.options;
  if (!entries) return undefined;
  const given = new Map(Object.entries(raw).filter(([, v]) => v !== undefined));
  const out: Record<string, unknown> = {};
  for (const entry of entries) {
    if (!given.has(entry.name)) {
      if (entry.positional && !entry.optional) return undefined;
      const fallback = entry.json && 'default' in entry.json ? entry.json.default : undefined;
      if (fallback !== undefined) out[entry.name] = Array.isArray(fallback) ? [...fallback] : fallback;
      continue;
    }
    const value = valueOf(entry, given.get(entry.name));
    if (value === undefined) return undefined;
    out[entry.name] = value;
    given.delete(entry.name);
  }
  // An option the command does not have: the schema refuses it.
  // What the schema outputs for these values (option-values.test.ts compares the two).
  return given.size === 0 ? (out as CommandOptions<K>) : undefined;
}

/** `v` as the schema of `entry` outputs it, or undefined when it is not a value this knows the schema accepts. */
function valueOf(entry: OptionEntry, v: unknown): unknown {
  const json = entry.json;
  if (!json) return undefined;
  const inEnum = (s: unknown) => typeof s === 'string' && (json.enum ?? []).includes(s);
  if (Array.isArray(json.type)) {
    // textOrNumber: a text, or a whole number as text.
    if (json.type.join() !== 'string,integer') return undefined;
    if (typeof v === 'string') return v;
    return typeof v === 'number' && Number.isInteger(v) ? String(v) : undefined;
  }
  switch (json.type) {
    case 'string':
      if (json.enum) return inEnum(v) ? v : undefined;
      if (typeof v !== 'string') return undefined;
      return entry.positional && v.length === 0 ? undefined : v;
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined;
    case 'number': {
      const n = numeric(v);
      return typeof n === 'number' && Number.isFinite(n) && n >= (json.minimum ?? -Infinity) ? n : undefined;
    }
    case 'integer': {
      const n = numeric(v);
      return typeof n === 'number' && Number.isSafeInteger(n) && n >= (json.minimum ?? -Infinity) ? n : undefined;
    }
    case 'array':
      return listOf(json, v);
    default:
      return undefined;
  }
}

/** A list option: texts (`--objects a --objects b`, one text a list of one) or values of a set, comma-separated. */
function listOf(json: NonNullable<OptionEntry['json']>, v: unknown): unknown {
  if (json.items?.type !== 'string') return undefined;
  const values = json.items.enum;
  if (!values) {
    const texts = typeof v === 'string' ? [v] : v;
    return Array.isArray(texts) && texts.every((s) => typeof s === 'string') ? [...texts] : undefined;
  }
  const items = commaList(v);
  return Array.isArray(items) && items.every((s) => typeof s === 'string' && values.includes(s)) ? items : undefined;
}

/** As option.ts's `numeric`: a string of a finite number is that number. */
function numeric(v: unknown): unknown {
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}

/** As option.ts's `commaList`: texts split at commas, trimmed, empty parts dropped. */
function commaList(v: unknown): unknown {
  const split = (s: string) =>
    s
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  if (typeof v === 'string') return split(v);
  if (Array.isArray(v)) return v.flatMap((item) => (typeof item === 'string' ? split(item) : [item]));
  return undefined;
}
