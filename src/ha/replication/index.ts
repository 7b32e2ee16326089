export type { LogPosition, SlaveProgress } from './types.js';
export { ReplicationServer, type ReplicationServerOptions } from './replication-server.js';
export { ReplicationClient, type ReplicationClientOptions } from './replication-client.js';
export { ReplicatedStore } from './replicated-store.js';
