import { after, before } from 'node:test';
import pg from 'pg';
import { JdbcStore, type JdbcStoreOptions } from '../../src/store/jdbc/jdbc-store.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { testPostgres, type TestPostgres } from '../helpers/postgres.js';
import { runStoreConformance } from './message-store.conformance.js';

let server: TestPostgres;
before(async () => {
  server = await testPostgres();
});
after(async () => {
  await server?.stop();
});

/**
 * Unfenced, and fenced with the lease row holding the store's epoch (every write then runs the
 * epoch check). Each test gets a database of its own; the prefixed variant proves tablePrefix.
 */
for (const variant of ['unfenced', 'fenced, tablePrefix'] as const) {
  runStoreConformance(`jdbc (${variant})`, async () => {
    const url = await server.freshDatabase('conf');
    const opts: JdbcStoreOptions = { connectionString: url, tablePrefix: '', createTablesOnStartup: true };
    if (variant !== 'unfenced') {
      opts.tablePrefix = 'QMQ_T_';
      opts.fenceEpoch = 7;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      // The lease row must exist before the first fenced write: create the schema, then set epoch 7.
      const bootstrap = new JdbcStore({ ...opts, fenceEpoch: undefined });
      await bootstrap.open();
      await bootstrap.close();
      await c.query(`UPDATE QMQ_T_ACTIVEMQ_LOCK SET EPOCH = 7, BROKER_NAME = 'test' WHERE ID = 1`);
      await c.end();
    }
    let current: MessageStore = new JdbcStore(opts);
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = new JdbcStore(opts);
        return current;
      },
      cleanup: async () => {
        await current.close();
      },
    };
  });
}
