// Public API of PostgreSQL introspection: a flat list of explicit exports.
export { introspect, introspectRelations, POSTGRES_DEFAULT_PRIVILEGES, INTROSPECT_QUERY_COUNT } from './introspect';
export type { IntrospectScope } from './introspect';
export {
  catalogVersion,
  EMPTY_STATE,
  fingerprint,
  fingerprints,
  recordableFingerprints,
  stateFingerprints,
  stateOf,
} from './fingerprint';
