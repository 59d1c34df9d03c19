import type { AdviseRole } from '@dbee/core';
import {
  adviseExtendedStatistics,
  adviseForeignKeys,
  adviseIndexes,
  adviseTables,
  analyzeSql,
  createHypothetical,
  createIndexSql,
  createStatisticsSql,
  dropStatisticsSql,
  dependentPairs,
  hideIndex,
  hypotheticalAvailable,
  plannedCost,
  relationNames,
  resetHypothetical,
  statsSince,
} from './advise-catalog';
import { queryColumns } from './query-columns';
import { releaseFacts } from './release-facts';

/** PostgreSQL's part of `dbee advise`: catalog reads, generic plans' costs, HypoPG. */
export const postgresAdvise: AdviseRole = {
  tables: adviseTables,
  indexes: adviseIndexes,
  relationNames,
  foreignKeys: adviseForeignKeys,
  extendedStatistics: adviseExtendedStatistics,
  statsSince,
  queryColumns,
  cost: plannedCost,
  hypothetical: {
    available: hypotheticalAvailable,
    create: createHypothetical,
    hide: hideIndex,
    reset: resetHypothetical,
  },
  dependentPairs,
  releaseFacts,
  render: {
    createIndex: createIndexSql,
    createStatistics: createStatisticsSql,
    dropStatistics: dropStatisticsSql,
    analyze: analyzeSql,
  },
};
