import { afterEach, beforeAll, inject } from 'vitest';
import { pgliteTemplate } from '../../packages/postgres/src/connection/pglite-template';
import { releasePglite, sharePglite } from './pglite-share';

// Before each test file (vitest.config.ts setupFiles): dbee's in-process PGlite template (the dump a shadow database
// or a new embedded database starts from, cached per process) is read from the one global-setup.ts made, instead
// of every test file running initdb and a dump for it. Child processes still make their own.
beforeAll(async () => {
  await pgliteTemplate(inject('pgliteTemplateRoot'));
});

// One PGlite instance per data folder for the length of a test (see pglite-share.ts).
sharePglite();
afterEach(releasePglite);
