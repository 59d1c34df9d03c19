import type { ChangeOf, Classification } from './classification';

/** A default changed: part of a column the strategy adds or shadows; on a column that stays, checked with the tables. */
export function alterColumnDefault(_c: ChangeOf<'alter-column-default'>, _s: Classification): void {}
