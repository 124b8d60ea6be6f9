/**
 * The server's ingress: every method on the port, health and reflection included, is registered
 * through one pipeline whose steps run once, in this order, whichever transport carries the call
 * (grpc-js, or the fast path of direct-calls.ts, which calls the very handler registered here):
 *
 * 1. authenticate: the bearer token the method's declared access needs (auth.ts);
 * 2. decode: the service's deserializer, made tolerant, so bytes that do not parse become a
 *    marker instead of grpc-js's INTERNAL (malformed.ts);
 * 3. validate: a marker is answered INVALID_ARGUMENT. A unary or server-streaming call is refused
 *    before its handler runs; a streamed message ends the call, unless the method declares that
 *    its handler answers each message in-band (the inference streams, which answer every request);
 * 4. dispatch: the handler, called for the kind the service definition declares
 *    (`requestStream` / `responseStream`).
 */
import { Metadata, type MethodDefinition, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import { tokenProblem, type AuthOptions } from './auth.js';
import { isMalformed, malformedStatus, tolerantService } from './malformed.js';
import { codeOfStatus, statusNameOf } from '@modelserve/core/errors';

/** Who may call a method: the admin token, the inference token, or anyone. */
export type Access = 'admin' | 'inference' | 'open';

/** A method's kind, from its service definition. */
export type MethodKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

/** How a streaming method's malformed messages are answered: the call ends, or the handler answers each one. */
export type MalformedMessages = 'end-call' | 'in-band';

/** One method as the pipeline serves it. */
export interface IngressMethod {
  path: string;
  kind: MethodKind;
  access: Access;
  malformedMessages: MalformedMessages;
}

/** How a service's methods are declared to the pipeline. */
export interface ServiceDeclaration {
  /** Each method's access, by method name. Default: open. */
  access?(method: string): Access;
  /** Streaming methods (by name) whose handlers answer malformed messages in-band. Default: none. */
  inBand?: readonly string[];
}

/** Where services are registered: a grpc-js `Server`, or anything with its `addService`. */
export type ServiceRegistrar = Pick<Server, 'addService'>;

type Status = { code: number; details: string };
type UnaryHandler = (call: { metadata: Metadata; request: unknown }, callback: (error: object | null, value?: unknown) => void) => void;
type StreamHandler = (call: StreamCall) => void;
type StreamCall = EventEmitter & { metadata: Metadata; request?: unknown };

/** What hears of every call the pipeline takes, and how it ended (gRPC server metrics, gRFC A66). */
export interface CallObserver {
  callStarted(method: string): void;
  /** `status`: the gRPC status name the call ended with (`OK`, `INVALID_ARGUMENT`, …). */
  callEnded(method: string, status: string, seconds: number): void;
}

/** Every service of a server, registered through the pipeline with the server's tokens. */
export class Ingress {
  /** The methods registered so far, by path, as declared. */
  readonly methods = new Map<string, IngressMethod>();

  constructor(
    private readonly server: ServiceRegistrar,
    private readonly auth: AuthOptions = {},
    private readonly calls?: CallObserver,
  ) {}

  /** Registers `service` with each handler behind the pipeline; methods without a handler are left to grpc-js (UNIMPLEMENTED). */
  addService(service: ServiceDefinition, handlers: object, declaration: ServiceDeclaration = {}): void {
    const implementation = handlers as Record<string, unknown>;
    const wrapped: UntypedServiceImplementation = {};
    for (const [name, definition] of Object.entries(service) as Array<[string, MethodDefinition<unknown, unknown> & { originalName?: string }]>) {
      const found = implementation[name] ?? (definition.originalName === undefined ? undefined : implementation[definition.originalName]);
      if (typeof found !== 'function') continue;
      const method: IngressMethod = {
        path: definition.path,
        kind: kindOf(definition),
        access: declaration.access?.(name) ?? 'open',
        malformedMessages: declaration.inBand?.includes(name) === true ? 'in-band' : 'end-call',
      };
      this.methods.set(method.path, method);
      const served = this.pipeline(method, (found as (...args: unknown[]) => void).bind(handlers));
      wrapped[name] = (this.calls === undefined ? served : observed(method, served, this.calls)) as UntypedServiceImplementation[string];
    }
    this.server.addService(tolerantService(service), wrapped);
  }

  /** The full names of the services registered so far (`modelserve.v1.Predictor`, …). */
  serviceNames(): string[] {
    return [...new Set([...this.methods.keys()].map((path) => path.split('/')[1]!))];
  }

  /** A registrar for libraries that add their own services (health, reflection): every method open. */
  openRegistrar(): ServiceRegistrar {
    return { addService: (service, handlers) => this.addService(service, handlers) };
  }

  /** `handler` behind authenticate → decode (the tolerant deserializer) → validate → dispatch. */
  private pipeline(method: IngressMethod, handler: (...args: unknown[]) => void): unknown {
    const token = method.access === 'admin' ? this.auth.adminToken : method.access === 'inference' ? this.auth.inferenceToken : undefined;
    const required = token === undefined || token === '' ? undefined : token;
    if (method.kind === 'unary') {
      const unary = handler as UnaryHandler;
      return (call: Parameters<UnaryHandler>[0], callback: Parameters<UnaryHandler>[1]) => {
        const refusal = (required === undefined ? undefined : tokenProblem(call.metadata, required)) ?? (isMalformed(call.request) ? malformedStatus(call.request) : undefined);
        if (refusal !== undefined) callback({ ...refusal, metadata: new Metadata() });
        else unary(call, callback);
      };
    }
    const stream = handler as StreamHandler;
    const requestIsMessage = method.kind === 'serverStream';
    const endOnMalformed = !requestIsMessage && method.malformedMessages === 'end-call';
    return (call: StreamCall) => {
      const refusal = (required === undefined ? undefined : tokenProblem(call.metadata, required)) ?? (requestIsMessage && isMalformed(call.request) ? malformedStatus(call.request) : undefined);
      if (refusal !== undefined) {
        end(call, refusal);
        return;
      }
      if (endOnMalformed) refuseMalformedMessages(call);
      stream(call);
    };
  }
}

/** The gRPC status name of a status number (`OK` for 0). */
function statusName(code: unknown): string {
  if (code === 0 || code === undefined || code === null) return 'OK';
  const known = typeof code === 'number' ? codeOfStatus(code) : undefined;
  return known === undefined ? 'UNKNOWN' : statusNameOf(known);
}

/**
 * `handler` counted by `calls`: started when called, ended once with the status it answered. A
 * unary call ends at its callback; a streaming call at its `end()` (OK), its first 'error' event
 * (the status it carries) or its cancellation (CANCELLED), whichever comes first.
 */
function observed(method: IngressMethod, handler: unknown, calls: CallObserver): unknown {
  const path = method.path.replace(/^\//, '');
  if (method.kind === 'unary') {
    const unary = handler as UnaryHandler;
    return (call: Parameters<UnaryHandler>[0], callback: Parameters<UnaryHandler>[1]) => {
      const started = performance.now();
      calls.callStarted(path);
      unary(call, (error, value) => {
        calls.callEnded(path, error === null ? 'OK' : statusName((error as { code?: unknown }).code), (performance.now() - started) / 1000);
        callback(error, value);
      });
    };
  }
  const stream = handler as StreamHandler;
  return (call: StreamCall & { end?: (...args: unknown[]) => unknown }) => {
    const started = performance.now();
    calls.callStarted(path);
    let ended = false;
    const finish = (status: string): void => {
      if (ended) return;
      ended = true;
      calls.callEnded(path, status, (performance.now() - started) / 1000);
    };
    const emit = call.emit;
    call.emit = function (this: StreamCall, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'error') finish(statusName((args[0] as { code?: unknown } | undefined)?.code ?? 2));
      else if (event === 'cancelled') finish('CANCELLED');
      return emit.call(this, event, ...args);
    };
    const end = call.end;
    if (typeof end === 'function') {
      call.end = function (this: unknown, ...args: unknown[]): unknown {
        finish('OK');
        return end.apply(this, args);
      };
    }
    stream(call);
  };
}

/** The kind grpc-js registers a method as. */
function kindOf(definition: MethodDefinition<unknown, unknown>): MethodKind {
  if (definition.requestStream) return definition.responseStream ? 'bidi' : 'clientStream';
  return definition.responseStream ? 'serverStream' : 'unary';
}

/** Ends a streaming call with `status` (grpc-js's calls, and the fast path's, end on an 'error' event). */
function end(call: StreamCall, status: Status): void {
  call.emit('error', { ...status, metadata: new Metadata() });
}

/**
 * Ends `call` with INVALID_ARGUMENT at its first malformed message, which its handler never sees,
 * nor anything read after it. The call's own `emit` is wrapped: its 'data' events are emitted by
 * the transport (Node's Readable for grpc-js), before any handler's listener could refuse them.
 */
function refuseMalformedMessages(call: StreamCall): void {
  const emit = call.emit;
  let refused = false;
  call.emit = function (this: StreamCall, event: string | symbol, ...args: unknown[]): boolean {
    if (refused && (event === 'data' || event === 'end')) return false;
    const message = args[0];
    if (event === 'data' && isMalformed(message)) {
      refused = true;
      end(call, malformedStatus(message));
      return false;
    }
    return emit.call(this, event, ...args);
  };
}
