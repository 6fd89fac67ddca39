import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensurePgliteTemplate, ensurePgTemplate } from './template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
    /** the names of this run's databases start with it (PostgreSQL run) */
    pgRunPrefix: string;
    databaseUrl: string;
  }
}

/** Runs once per `vitest run`: build the migrated template every test file clones. */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (url) {
    project.provide('databaseUrl', url);
    const template = await ensurePgTemplate(url);
    // this run's own: another run on the same server (a second terminal) keeps its databases
    const runPrefix = `${template}_t_${randomBytes(3).toString('hex')}`;
    project.provide('pgTemplate', template);
    project.provide('pgRunPrefix', runPrefix);
    project.provide('pgliteTemplate', '');
    return async () => {
      // drop databases of test files that did not clean up (crashed workers)
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const rows = await admin.query(`select datname from pg_database where datname like $1`, [`${runPrefix.replaceAll('_', '\\_')}\\_%`]);
      for (const r of rows.rows as { datname: string }[]) await admin.query(`drop database if exists "${r.datname}" with (force)`);
      await admin.end();
    };
  }
  project.provide('databaseUrl', '');
  project.provide('pgTemplate', '');
  project.provide('pgRunPrefix', '');
  project.provide('pgliteTemplate', await ensurePgliteTemplate());
  return undefined;
}
