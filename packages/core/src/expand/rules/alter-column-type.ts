import type { Column } from '../../schema/model';
import { declarationFile, quoteName, type TablePlanning } from './column-planning';
import type { ShadowExpressions } from './new-column';
import { of as make, tk } from './classification';
import { shadowColumn } from './new-column';
import { carrier, type ExpandRule } from './rule';

/** A column retyped: a shadow column of the new type, filled by `up`, written back by `down`, swapped in at complete. */
export const alterColumnType: ExpandRule<'alter-column-type'> = {
  validate() {},
  plan(c, s) {
    make(s.typeChanged, tk(c.table.schema, c.table.name), () => new Set()).add(c.column);
    s.summary.push(
      `change the type of ${c.table.schema}.${c.table.name}.${c.column} from ${c.from.type} to ${c.to.type}`,
    );
  },
  ...shadowColumn,
  completes(c, of) {
    const s = carrier(of(c.table), c.column, ['shadow']);
    return !!s && s.x.type === c.to.type && s.live.type === c.to.type;
  },
};

/** A retyped column's `up` and `down`: as declared, else a cast where the engine has one; refused where neither. */
export async function typeExpressions(
  t: TablePlanning,
  col: Column,
  from: string,
  before: Column,
  given: { up: string | null; down: string | null },
): Promise<ShadowExpressions> {
  let { up, down } = given;
  const castable = await t.castExists(before.type, col.type);
  const backCastable = await t.castExists(col.type, before.type);
  if (up === null && castable) up = `CAST(${quoteName(from)} AS ${col.type})`;
  if (down === null && backCastable) down = `CAST(${quoteName(col.name)} AS ${before.type})`;
  if (up === null || down === null)
    t.refuse(
      `${t.key}.${col.name}: PostgreSQL has no cast from ${castable ? col.type : before.type} to ${castable ? before.type : col.type}, so dbee cannot derive the ${up === null ? 'up' : 'down'} expression of the type change`,
      `declare it in ${declarationFile(t)}:\n  columns:\n    ${col.name}:\n      up: <old ${from} as ${col.type}>\n      down: <new ${col.name} as ${before.type}>`,
      t.decl?.columns[col.name]?.location ?? t.decl?.location,
    );
  return { up, down };
}
