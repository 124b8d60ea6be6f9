/**
 * What the JetStream store and queue share: opening (or adopting) a connection, creating streams
 * that several replicas may create at once, and recognising a lost compare-and-set.
 */
import { type JetStreamClient, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, jetstream, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { detailsOf } from '@modelserve/core';

/** A connection with its JetStream clients; `owned` when `connectJetStream` opened it (and so its user closes it). */
export interface JetStreamConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  owned: boolean;
}

/**
 * Connects to `target` (a `nats://host:port` URL, or a connection someone else opened and will
 * close) and checks that its account has JetStream. A URL's connection reconnects forever.
 */
export async function connectJetStream(target: string | NatsConnection, name = 'modelserve-jobs'): Promise<JetStreamConnection> {
  let nc: NatsConnection;
  const owned = typeof target === 'string';
  if (typeof target === 'string') {
    try {
      nc = await connect({ servers: target, name, maxReconnectAttempts: -1 });
    } catch (error) {
      throw new Error(`cannot connect to NATS at ${target}: ${detailsOf(error)}`, { cause: error });
    }
  } else {
    nc = target;
  }
  try {
    const jsm = await jetstreamManager(nc);
    return { nc, js: jetstream(nc), jsm, owned };
  } catch (error) {
    if (owned) await nc.close().catch(() => undefined);
    throw new Error(`NATS at ${nc.getServer()} has no JetStream (start nats-server with -js): ${detailsOf(error)}`, { cause: error });
  }
}

/**
 * Creates a stream unless it exists. When replicas start together one of them creates it and the
 * others find it; an existing stream is used as it is, even if configured differently.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  if (await streamExists(jsm, config.name)) return;
  try {
    await jsm.streams.add(config);
  } catch (error) {
    if (!(await streamExists(jsm, config.name))) throw new Error(`creating JetStream stream ${config.name}: ${detailsOf(error)}`, { cause: error });
  }
}

async function streamExists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return false;
    throw error;
  }
}

/** Whether a write failed because the key's revision was not the expected one (a create of an existing key, a lost update race). */
export function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/** Bytes a message's subject-independent headers may take (the expected-sequence, message-id and attempt headers are far smaller). */
export const headerAllowance = 1024;

/** The largest payload this connection's server accepts, less `headerAllowance`. */
export function maxValueBytes(nc: NatsConnection): number {
  return (nc.info?.max_payload ?? 1024 * 1024) - headerAllowance;
}

/** A short random pause before retrying a lost compare-and-set, growing with the attempt so competing writers spread out. */
export function casBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(200, 2 ** Math.min(attempt, 8));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
