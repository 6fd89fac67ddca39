import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensurePgliteTemplate, ensurePgTemplate } from './template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
    databaseUrl: string;
  }
}

/** Runs once per `vitest run`: build the migrated template every test file clones. */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (url) {
    project.provide('databaseUrl', url);
    const template = await ensurePgTemplate(url);
    project.provide('pgTemplate', template);
    project.provide('pgliteTemplate', '');
    return async () => {
      // drop databases of test files that did not clean up (crashed workers)
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const rows = await admin.query(`select datname from pg_database where datname like $1`, [`${template}\\_t\\_%`]);
      for (const r of rows.rows as { datname: string }[]) await admin.query(`drop database if exists "${r.datname}" with (force)`);
      await admin.end();
    };
  }
  project.provide('databaseUrl', '');
  project.provide('pgTemplate', '');
  project.provide('pgliteTemplate', await ensurePgliteTemplate());
  return undefined;
}
