export type { LogPosition, SlaveProgress } from './types.js';
export { ReplicationServer, parseBind, DEFAULT_REPLICATION_PORT, type ReplicationServerOptions } from './replication-server.js';
export { ReplicationClient, type ReplicationClientOptions } from './replication-client.js';
export { ReplicatedStore } from './replicated-store.js';
export { planCatchUp, agreedEnd, type CatchUpPlan } from './catch-up-plan.js';
export { readPromisedEpoch } from './promised-epoch.js';
