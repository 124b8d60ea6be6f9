/** @modelserve/jobs/testing: a real nats-server for tests of the JetStream store and queue. */
export { startNatsServer } from './nats-server.js';
export type { NatsServer, NatsServerOptions } from './nats-server.js';
