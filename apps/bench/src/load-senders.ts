/**
 * Senders put one pre-encoded request on the wire and report when it is answered. They bypass
 * protobuf (de)serialization (bytes in, bytes out), so a load worker spends its core on HTTP/2,
 * which the server pays for as well, and not on work the server does not see.
 */
import * as grpc from '@grpc/grpc-js';
import { appendRequestId, readStreamResponse } from './wire.js';

/** Called once per request: undefined when it was answered with outputs, else a status name. */
export type Done = (error: string | undefined) => void;

/** Sends one request at a time or many concurrently, answering each through its `done`. */
export interface Sender {
  send(done: Done): void;
  /** Requests sent and not answered yet. */
  inFlight(): number;
  /** Ends calls in progress (streams); late answers are dropped. */
  close(): void;
}

const PREDICT = '/modelserve.v1.Predictor/Predict';
const PREDICT_STREAM = '/modelserve.v1.Predictor/PredictStream';
const bytes = (b: Buffer): Buffer => b;

/** A name for a gRPC status code, as the tables print it. */
export function statusName(code: number | undefined): string {
  if (code === undefined) return 'UNKNOWN';
  return grpc.status[code] ?? `CODE_${code}`;
}

/** A client on its own HTTP/2 connection (grpc-js would otherwise share one per process and target). */
export function openClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

/** Cycles through the payloads. */
class PayloadCycle {
  private next = 0;
  constructor(private readonly payloads: readonly Buffer[]) {}
  take(): Buffer {
    const payload = this.payloads[this.next % this.payloads.length]!;
    this.next++;
    return payload;
  }
}

/** Unary `Predict` calls on one client; `deadlineMs` 0 sets no deadline. */
export function unarySender(client: grpc.Client, payloads: readonly Buffer[], deadlineMs: number): Sender {
  const cycle = new PayloadCycle(payloads);
  let inFlight = 0;
  return {
    send(done) {
      inFlight++;
      client.makeUnaryRequest(PREDICT, bytes, bytes, cycle.take(), deadlineMs > 0 ? { deadline: Date.now() + deadlineMs } : {}, (error) => {
        inFlight--;
        done(error === null ? undefined : statusName(error.code));
      });
    },
    inFlight: () => inFlight,
    close() {},
  };
}

/** Requests on one `PredictStream`, correlated by id; the stream is reopened if it ends. */
export function streamSender(client: grpc.Client, payloads: readonly Buffer[]): Sender {
  const cycle = new PayloadCycle(payloads);
  const pending = new Map<string, Done>();
  let nextId = 0;
  let call: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  let closed = false;

  const failAll = (name: string): void => {
    const waiting = [...pending.values()];
    pending.clear();
    for (const done of waiting) done(name);
  };
  const open = (): grpc.ClientDuplexStream<Buffer, Buffer> => {
    const stream = client.makeBidiStreamRequest(PREDICT_STREAM, bytes, bytes);
    stream.on('data', (message: Buffer) => {
      const header = readStreamResponse(message);
      const done = pending.get(header.id);
      if (done === undefined) return;
      pending.delete(header.id);
      done(header.ok ? undefined : statusName(header.errorCode));
    });
    const ended = (name: string): void => {
      if (call === stream) call = undefined;
      if (!closed) failAll(name);
    };
    stream.on('error', (error: grpc.ServiceError) => ended(statusName(error.code)));
    stream.on('end', () => ended('STREAM_ENDED'));
    return stream;
  };
  return {
    send(done) {
      call ??= open();
      const id = String(nextId++);
      pending.set(id, done);
      // In-flight requests are bounded by the caller, so the write buffer is too.
      call.write(appendRequestId(cycle.take(), id));
    },
    inFlight: () => pending.size,
    close() {
      closed = true;
      // Half-close when every request was answered, so the server ends the stream normally.
      if (pending.size === 0) call?.end();
      else call?.cancel();
      pending.clear();
      call = undefined;
    },
  };
}
