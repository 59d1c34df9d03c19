import { describe, expect, it } from 'vitest';
import { statisticsGroups, statisticsToCollect } from './teradata-statistics';

describe('COLLECT STATISTICS groups (#64 S5)', () => {
  it('reads the groups of the forms a file and SHOW STATISTICS write', () => {
    expect(statisticsGroups('COLLECT STATISTICS COLUMN (customer_id), COLUMN (a, "B") ON DEV_EDW.orders;')).toEqual({
      using: '',
      table: 'DEV_EDW.orders',
      groups: [
        { text: 'COLUMN (customer_id)', columns: ['CUSTOMER_ID'] },
        { text: 'COLUMN (a, "B")', columns: ['A', 'B'] },
      ],
    });
    const shown =
      'COLLECT STATISTICS\n -- default SYSTEM SAMPLE PERCENT\n COLUMN ( customer_id ) ,\n INDEX ( order_id )\n ON DEV_EDW.orders ;';
    expect(statisticsGroups(shown)?.groups.map((g) => g.columns)).toEqual([['CUSTOMER_ID'], ['ORDER_ID']]);
    expect(statisticsGroups('COLLECT STATS ON t COLUMN x')).toEqual({
      using: '',
      table: 't',
      groups: [{ text: 'COLUMN x', columns: ['X'] }],
    });
    expect(statisticsGroups('COLLECT STATISTICS ON t')).toBeNull();
  });

  it('keeps the groups the target lacks or that read a column the change adds, with the USING options written', () => {
    const live = new Set(['CUSTOMER_ID', 'ORDER_DATE']);
    const sql = 'COLLECT STATISTICS USING SAMPLE 10 PERCENT COLUMN (customer_id), COLUMN (order_date, channel) ON db.t';
    expect(statisticsToCollect([sql], live, new Set())).toEqual([
      'COLLECT STATISTICS USING SAMPLE 10 PERCENT COLUMN (order_date, channel) ON db.t',
    ]);
    expect(statisticsToCollect([sql], new Set([...live, 'ORDER_DATE,CHANNEL']), new Set())).toEqual([]);
    expect(statisticsToCollect([sql], new Set(), new Set())).toEqual([sql]);
    expect(statisticsToCollect(['COLLECT STATISTICS ON db.t'], live, new Set())).toEqual([
      'COLLECT STATISTICS ON db.t',
    ]);
  });
});
