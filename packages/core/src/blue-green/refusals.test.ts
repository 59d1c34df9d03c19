import { describe, expect, it } from 'vitest';
import { migrationsOnGreen } from './refusals';

describe('a release with data migrations deployed to green', () => {
  it('is warned of, each migration named: blue writes the rows it changed after it, as blue has them', () => {
    const steps = [
      { action: 'create', key: 'function:core.shout(text)' },
      { action: 'migrate', key: 'migration:core/V2', source: { file: 'core/migrations/V2__reprice.sql' } },
      { action: 'alter', key: 'table:core.products' },
      { action: 'migrate', key: 'migration:lab/V1__bump' },
    ];
    const warning = migrationsOnGreen(steps);
    expect(warning).toContain(
      '(migration:core/V2 (core/migrations/V2__reprice.sql), migration:lab/V1__bump) run on green while blue takes writes',
    );
    expect(warning).toContain('the change is lost');
    expect(warning).toContain('after the switch');
    expect(migrationsOnGreen(steps.filter((s) => s.action !== 'migrate'))).toBeNull();
  });
});
