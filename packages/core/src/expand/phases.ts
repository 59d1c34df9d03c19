// The expand-contract strategy's releases are a store of the ledger (`Ledger.releases`, ledger/release-store.ts).
export { IN_FLIGHT, type ExpandPhase, type ExpandRelease } from '../ledger/release-store';
