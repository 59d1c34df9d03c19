import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';

/** What makes `text` an invalid SARIF 2.1.0 log (test/fixtures/schemas/sarif-2.1.0.schema.json); empty when valid. */
export function sarifErrors(text: string): string[] {
  const schema = JSON.parse(
    readFileSync(join(__dirname, '..', 'fixtures', 'schemas', 'sarif-2.1.0.schema.json'), 'utf8'),
  ) as Record<string, unknown>;
  // Draft-04's `$schema` and `id`, which ajv (draft-07) reads as `$id`: its references are all local (`#/definitions`).
  delete schema.$schema;
  delete schema.id;
  // unicodeRegExp off: the schema's language pattern `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$` is valid JavaScript
  // only without the `u` flag.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false });
  const validate = ajv.compile(schema);
  return validate(JSON.parse(text))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
