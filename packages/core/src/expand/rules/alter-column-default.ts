import { carrier, nothing, type ExpandRule } from './rule';

/** A default changed: part of a column the strategy adds or shadows; on a column that stays, checked with the tables. */
export const alterColumnDefault: ExpandRule<'alter-column-default'> = {
  validate() {},
  plan() {},
  expand: nothing,
  complete: nothing,
  abort: nothing,
  completes(c, of) {
    const s = carrier(of(c.table), c.column, ['shadow']);
    return !!s && s.x.default === c.to && s.live.default === c.to;
  },
};
