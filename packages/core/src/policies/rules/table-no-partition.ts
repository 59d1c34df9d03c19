import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** No partitioned tables (for teams whose tooling or replication cannot follow them). */
export const tableNoPartition: PolicyRule<Record<string, never>> = {
  name: 'table-no-partition',
  category: 'keys',
  summary: 'No partitioned tables.',
  why: 'Partitioning changes how keys, indexes and foreign keys behave; some teams allow it only after a review.',
  bytebase: 'table.disallow-partition',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);',
    allow: 'CREATE TABLE app.events (id bigint PRIMARY KEY, at date);',
  },
  check(subject) {
    return subject
      .tables()
      .filter((t) => typeof t.attrs['partitionBy'] === 'string')
      .map((t) => ({
        object: t.key,
        message: `table ${qualified(t.key)} is partitioned (${t.attrs['partitionBy']}): this team reviews partitioning first`,
      }));
  },
};
