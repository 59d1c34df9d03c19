import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import { changeObjectKey, type Change, type SchemaModel } from '../../packages/core/src/schema';
import { diffModels } from '../support/pg-diff';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { DESIRED_SQL, DRIFTED_SQL, SCOPE } from './fixture';
import { applySteps, CREATE_READER_ROLE, ENGINES, openScratch, type Scratch } from './helpers';

const summary = (changes: Change[]) => changes.map((c) => `${c.kind} ${formatKey(changeObjectKey(c))}`);

/** Changes that statements can undo: no drops of data, nothing PostgreSQL cannot reverse. */
const REVERSIBLE_DRIFT = `
${DESIRED_SQL}
alter table shop.orders alter column placed_at set default clock_timestamp();
alter table shop.customers alter column name drop not null;
create or replace function shop.order_total(p_order bigint) returns numeric language sql stable
  as $$ select coalesce(sum(amount), 0) + 0 from shop.order_lines where order_id = p_order $$;
drop view report.customer_revenue;
drop index shop.orders_open_idx;
create index orders_placed_idx on shop.orders (placed_at);
alter table shop.order_lines drop constraint order_lines_product_fk;
comment on table shop.orders is 'Orders (old text)';
grant insert on shop.orders to dbee_t_reader;
alter sequence shop.invoice_no increment 1;
create or replace trigger orders_touch before insert or update on shop.orders for each row execute function shop.touch_updated_at();
`;

describe.each(ENGINES)('diff round trip [%s]', (engine) => {
  let desired: Scratch;
  let drifted: Scratch;
  let twin: Scratch;
  let reversible: Scratch;
  let target: SchemaModel;

  beforeAll(async () => {
    [desired, drifted, twin, reversible] = await Promise.all([
      openScratch(engine),
      openScratch(engine),
      openScratch(engine),
      openScratch(engine),
    ]);
    await desired.conn.execute(DESIRED_SQL);
    await drifted.conn.execute(DRIFTED_SQL);
    await twin.conn.execute(DESIRED_SQL);
    await reversible.conn.execute(REVERSIBLE_DRIFT);
    target = await introspect(desired.conn, SCOPE);
  });

  afterAll(async () => {
    await Promise.all([desired, drifted, twin, reversible].filter(Boolean).map((s) => s.dispose()));
  });

  test('identical schemas in two databases give an empty diff, both ways', async () => {
    const copy = await introspect(twin.conn, SCOPE);
    expect(diffModels(copy, target)).toEqual([]);
    expect(diffModels(target, copy)).toEqual([]);
  });

  test('the drifted database is brought to the desired schema, and then the diff is empty', async () => {
    const live = await introspect(drifted.conn, SCOPE);
    const changes = diffModels(live, target);
    expect(summary(changes)).toEqual([
      'drop-index index:report.daily_sales_day_idx@report.daily_sales',
      'drop-routine function:shop.obsolete(integer)',
      'drop-view materialized-view:report.daily_sales',
      'drop-view view:report.customer_revenue',
      'drop-view view:report.order_summary',
      'drop-table table:shop.legacy',
      'drop-column table:shop.orders',
      'drop-domain-constraint domain:shop.positive_amount',
      'add-domain-constraint domain:shop.positive_amount',
      'alter-enum-add-value type:shop.order_status',
      'alter-sequence sequence:shop.invoice_no',
      'add-column table:shop.customers',
      'alter-column-nullability table:shop.customers',
      'add-constraint table:shop.order_lines',
      'alter-column-type table:shop.orders',
      'alter-column-default table:shop.orders',
      'alter-column-identity table:shop.orders',
      'create-view materialized-view:report.daily_sales',
      'create-view view:report.order_summary',
      'create-view view:report.customer_revenue',
      'create-routine function:shop.customer_orders(bigint)',
      'create-index index:report.daily_sales_day_idx@report.daily_sales',
      'create-index index:shop.customers_lower_email_idx@shop.customers',
      'create-index index:shop.orders_open_idx@shop.orders',
      'replace-trigger trigger:shop.orders_touch@shop.orders',
      'revoke table:shop.orders',
      'set-comment table:shop.orders',
      'set-comment table:shop.orders',
      'set-comment table:shop.products',
      'set-comment type:shop.order_status',
      'grant view:report.order_summary',
      'set-comment view:report.order_summary',
    ]);
    const steps = renderPlanSteps(changes, { from: live, to: target });
    await applySteps(drifted.conn, steps);
    const after = await introspect(drifted.conn, SCOPE);
    expect(diffModels(after, target)).toEqual([]);
  });

  test('an empty database gets the whole desired schema, in an order PostgreSQL accepts', async () => {
    const empty = await openScratch(engine);
    try {
      await empty.conn.execute(CREATE_READER_ROLE);
      const before = await introspect(empty.conn, SCOPE);
      const changes = diffModels(before, target);
      expect(changes.filter((c) => c.kind.startsWith('drop-'))).toEqual([]);
      await applySteps(empty.conn, renderPlanSteps(changes, { from: before, to: target }));
      expect(diffModels(await introspect(empty.conn, SCOPE), target)).toEqual([]);
    } finally {
      await empty.dispose();
    }
  });

  test('an empty desired schema drops everything, dependents first', async () => {
    const doomed = await openScratch(engine);
    try {
      await doomed.conn.execute(DESIRED_SQL);
      const before = await introspect(doomed.conn, SCOPE);
      const nothing = await introspect(doomed.conn, { schemas: ['no_such_schema'] });
      const changes = diffModels(before, nothing);
      expect(changes.every((c) => c.kind.startsWith('drop-'))).toBe(true);
      expect(summary(changes).at(-1)).toMatch(/^drop-schema /);
      await applySteps(doomed.conn, renderPlanSteps(changes, { from: before, to: nothing }));
      const after = await introspect(doomed.conn, SCOPE);
      expect(after.schemas).toEqual([]);
      expect(diffModels(after, nothing)).toEqual([]);
    } finally {
      await doomed.dispose();
    }
  });

  test('reverse statements, run backwards, restore the schema the plan started from', async () => {
    const before = await introspect(reversible.conn, SCOPE);
    const steps = renderPlanSteps(diffModels(before, target), { from: before, to: target });
    expect(steps.length).toBeGreaterThan(8);
    expect(steps.every((s) => s.reverse !== null)).toBe(true);
    await applySteps(reversible.conn, steps);
    expect(diffModels(await introspect(reversible.conn, SCOPE), target)).toEqual([]);

    const undo = [...steps].reverse().map((s) => ({ statements: s.reverse!, transactional: s.transactional }));
    await applySteps(reversible.conn, undo);
    expect(diffModels(await introspect(reversible.conn, SCOPE), before)).toEqual([]);
  });
});
