/**
 * A grpcurl emulator (grpcurl itself cannot be installed here): it learns every type from the server's
 * reflection service, never from .proto files, so the README's grpcurl lines can be run as tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor/index.js';
import { dropImplicitDefaults, fromJson, parseJsonStream } from '../reflection/protojson.js';

export type ReflectionVersion = 'v1' | 'v1alpha';
export interface GrpcError { code: number; name: string; details: string }
export interface InvokeResult { responses: Record<string, unknown>[]; error?: GrpcError }
export interface MethodDescription { name: string; requestType: string; responseType: string; clientStreaming: boolean; serverStreaming: boolean }
export interface FieldDescription { name: string; number: number; type: string; repeated: boolean }
export type Description =
  | { kind: 'service'; name: string; methods: MethodDescription[]; text: string }
  | { kind: 'message'; name: string; fields: FieldDescription[]; text: string }
  | { kind: 'enum'; name: string; values: Record<string, number>; text: string };
export type RunResult =
  | { command: 'list'; services: string[] }
  | { command: 'describe'; description: Description }
  | { command: 'invoke'; method: string; result: InvokeResult };

/** Like grpcurl: v1 first; a server answering UNIMPLEMENTED gets v1alpha. */
const defaultVersions: readonly ReflectionVersion[] = ['v1', 'v1alpha'];
/** grpcurl has no default deadline; one here keeps a broken server from hanging the test run. */
const deadlineMs = 20_000;
/** How responses are rendered: proto field names, which the tests read (grpcurl itself prints lowerCamelCase JSON names). */
const outputOptions: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

// The reflection protos ship inside @grpc/reflection; the client side needs nothing else.
const reflectionProtoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build/proto');
const reflectionMethods = new Map<ReflectionVersion, grpc.MethodDefinition<object, ReflectionResponse>>();
function reflectionMethod(version: ReflectionVersion): grpc.MethodDefinition<object, ReflectionResponse> {
  let method = reflectionMethods.get(version);
  if (method === undefined) {
    const file = path.join(reflectionProtoDir, `grpc/reflection/${version}/reflection.proto`);
    const definition = protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, oneofs: true });
    const service = definition[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition;
    method = service['ServerReflectionInfo'] as grpc.MethodDefinition<object, ReflectionResponse>;
    reflectionMethods.set(version, method);
  }
  return method;
}

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  list_services_response?: { service: Array<{ name: string }> };
  error_response?: { error_code: number; error_message: string };
}
interface FileProto { name: string; dependency: string[] }

/** A reflection client for one address, as grpcurl's grpcreflect client: version negotiated on first use. */
export class Reflection {
  private readonly client: grpc.Client;
  private versions: ReflectionVersion[];
  constructor(address: string, versions: readonly ReflectionVersion[] = defaultVersions) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
    this.versions = [...versions];
  }

  /** The reflection version in use (after the first request it is the one the server answered). */
  get version(): ReflectionVersion { return this.versions[0]!; }

  close(): void { this.client.close(); }

  /** One request on a ServerReflectionInfo stream; falls back to the next version on UNIMPLEMENTED. */
  async ask(request: object): Promise<ReflectionResponse> {
    for (;;) {
      try {
        const response = await this.askOnce(this.version, request);
        if (response.error_response) throw new Error(`reflection: ${grpc.status[response.error_response.error_code]}: ${response.error_response.error_message}`);
        return response;
      } catch (error) {
        if ((error as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED || this.versions.length === 1) throw error;
        this.versions.shift();
      }
    }
  }

  private askOnce(version: ReflectionVersion, request: object): Promise<ReflectionResponse> {
    const method = reflectionMethod(version);
    return new Promise((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
      call.once('data', (response: ReflectionResponse) => { resolve(response); call.end(); });
      call.on('error', reject);
      call.write(request);
    });
  }

  async listServices(): Promise<string[]> {
    const response = await this.ask({ list_services: '*' });
    return (response.list_services_response?.service ?? []).map((s) => s.name).sort();
  }

  /** The types around `symbol`: its file, then every dependency by name, as grpcurl resolves them. */
  async rootFor(symbol: string): Promise<protobuf.Root> {
    const files = new Map<string, FileProto>();
    const add = (response: ReflectionResponse) => {
      for (const bytes of response.file_descriptor_response?.file_descriptor_proto ?? []) {
        const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as FileProto;
        if (!files.has(file.name)) files.set(file.name, file);
      }
    };
    add(await this.ask({ file_containing_symbol: symbol }));
    let missing: string | undefined;
    while ((missing = [...files.values()].flatMap((f) => f.dependency).find((d) => !files.has(d))) !== undefined) {
      add(await this.ask({ file_by_filename: missing }));
      if (!files.has(missing)) throw new Error(`reflection: asked for file ${missing}, got others`);
    }
    // The ext/descriptor module adds Root.fromDescriptor at run time; its typings do not declare it.
    const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: object): protobuf.Root }).fromDescriptor;
    return fromDescriptor({ file: [...files.values()] });
  }
}

/** `grpcurl -plaintext ADDRESS list`. */
export async function list(address: string, versions?: readonly ReflectionVersion[]): Promise<string[]> {
  const reflection = new Reflection(address, versions);
  try { return await reflection.listServices(); } finally { reflection.close(); }
}

/** `grpcurl -plaintext ADDRESS describe SYMBOL` for a service, message or enum. */
export async function describe(address: string, symbol: string, versions?: readonly ReflectionVersion[]): Promise<Description> {
  const reflection = new Reflection(address, versions);
  try {
    const found = (await reflection.rootFor(symbol)).lookup(symbol);
    const typeName = (f: protobuf.Field) => (f.resolvedType ? `.${f.resolvedType.fullName.slice(1)}` : f.type);
    if (found instanceof protobuf.Service) {
      const methods = found.methodsArray.map((m) => (m.resolve(), {
        name: m.name, requestType: m.resolvedRequestType!.fullName.slice(1), responseType: m.resolvedResponseType!.fullName.slice(1),
        clientStreaming: m.requestStream === true, serverStreaming: m.responseStream === true,
      }));
      const rpc = (m: MethodDescription) =>
        `  rpc ${m.name} ( ${m.clientStreaming ? 'stream ' : ''}.${m.requestType} ) returns ( ${m.serverStreaming ? 'stream ' : ''}.${m.responseType} );`;
      return { kind: 'service', name: symbol, methods, text: [`${symbol} is a service:`, `service ${found.name} {`, ...methods.map(rpc), '}'].join('\n') };
    }
    if (found instanceof protobuf.Type) {
      const fields = found.fieldsArray.map((f) => (f.resolve(), { name: f.name, number: f.id, type: typeName(f), repeated: f.repeated }));
      const line = (f: FieldDescription) => `  ${f.repeated ? 'repeated ' : ''}${f.type} ${f.name} = ${f.number};`;
      return { kind: 'message', name: symbol, fields, text: [`${symbol} is a message:`, `message ${found.name} {`, ...fields.map(line), '}'].join('\n') };
    }
    if (found instanceof protobuf.Enum) {
      const lines = Object.entries(found.values).map(([n, v]) => `  ${n} = ${v};`);
      return { kind: 'enum', name: symbol, values: { ...found.values }, text: [`${symbol} is an enum:`, `enum ${found.name} {`, ...lines, '}'].join('\n') };
    }
    throw new Error(`Symbol "${symbol}" is not a service, message or enum`);
  } finally {
    reflection.close();
  }
}

/**
 * `grpcurl -plaintext -d DATA ADDRESS pkg.Service/Method`: request and response types come from
 * reflection; DATA is zero or more JSON objects (zero sends one empty request to a unary method).
 */
export async function invoke(address: string, method: string, data = '', versions?: readonly ReflectionVersion[]): Promise<InvokeResult> {
  const match = /^\.?(.+)[/.]([^/.]+)$/.exec(method); // grpcurl takes Service/Method and Service.Method
  if (match === null) throw new Error(`given method name "${method}" is not in expected format`);
  const [serviceName, methodName] = [match[1]!, match[2]!];
  const reflection = new Reflection(address, versions);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const root = await reflection.rootFor(serviceName);
    const rpc = root.lookupService(serviceName).methods[methodName];
    if (rpc === undefined) throw new Error(`service "${serviceName}" does not include a method named "${methodName}"`);
    rpc.resolve();
    const [requestType, responseType] = [rpc.resolvedRequestType!, rpc.resolvedResponseType!];
    const requests = parseJsonStream(data).map((v) => requestType.fromObject(fromJson(requestType, v)));
    if (!rpc.requestStream && requests.length > 1) throw new Error(`method "${method}" is a unary RPC, but request data contained more than 1 message`);
    const serialize = (m: protobuf.Message) => Buffer.from(requestType.encode(m).finish());
    const deserialize = (b: Buffer) => dropImplicitDefaults(responseType, responseType.toObject(responseType.decode(b), outputOptions));
    const callPath = `/${serviceName}/${methodName}`;
    const options = { deadline: Date.now() + deadlineMs };
    const toError = (e: grpc.ServiceError): GrpcError => ({ code: e.code, name: grpc.status[e.code], details: e.details });
    if (!rpc.requestStream && !rpc.responseStream) {
      const request = requests[0] ?? requestType.create({});
      return await new Promise<InvokeResult>((resolve) => {
        client.makeUnaryRequest(callPath, serialize, deserialize, request, new grpc.Metadata(), options, (error, response) =>
          resolve(error ? { responses: [], error: toError(error) } : { responses: [response!] }));
      });
    }
    // Every streaming kind is the same on the wire: write all requests, half-close, read until status.
    return await new Promise<InvokeResult>((resolve) => {
      const responses: Record<string, unknown>[] = [];
      const call = client.makeBidiStreamRequest(callPath, serialize, deserialize, new grpc.Metadata(), options);
      // The status can arrive while responses are still buffered: answer once both the stream ended and the status came.
      let [ended, error, status] = [false, undefined as GrpcError | undefined, false];
      const finish = () => { if (ended && status) resolve(error ? { responses, error } : { responses }); };
      call.on('data', (r: Record<string, unknown>) => responses.push(r));
      call.on('end', () => { ended = true; finish(); });
      call.on('error', (e: grpc.ServiceError) => { error = toError(e); });
      call.on('status', () => { status = true; finish(); });
      for (const request of rpc.requestStream ? requests : [requests[0] ?? requestType.create({})]) call.write(request);
      call.end();
    });
  } finally {
    client.close();
    reflection.close();
  }
}

/** Splits a shell line into pipeline stages of words: single quotes literal, double quotes and \ escape. */
export function shellWords(line: string): string[][] {
  const stages: string[][] = [[]];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= '';
      for (i++; line[i] !== '"'; i++) {
        if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
        word += line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '') ? line[++i] : line[i];
      }
    } else if (c === '\\') word = (word ?? '') + (line[++i] ?? '');
    else if (/\s|\|/.test(c) || (c === '#' && word === undefined)) {
      if (word !== undefined) stages.at(-1)!.push(word);
      word = undefined;
      if (c === '#') break;
      if (c === '|') stages.push([]);
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) stages.at(-1)!.push(word);
  return stages;
}

/**
 * Runs one README line: `grpcurl -plaintext [-d DATA|@] ADDR (list|describe SYMBOL|Service/Method)`,
 * optionally fed by `node -e SCRIPT |`. ADDR is replaced by `address`; -plaintext is required because
 * without it grpcurl would attempt TLS, which the demo server does not speak.
 */
export async function run(commandLine: string, address: string): Promise<RunResult> {
  const stages = shellWords(commandLine);
  const args = stages.at(-1)!;
  let stdin: string | undefined;
  if (stages.length === 2) {
    const [program, flag, script, ...rest] = stages[0]!;
    if (program !== 'node' || flag !== '-e' || script === undefined || rest.length > 0) throw new Error(`emulator: only 'node -e SCRIPT |' may feed grpcurl: ${commandLine}`);
    stdin = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } else if (stages.length > 2) throw new Error(`emulator: one pipe at most: ${commandLine}`);
  if (args.shift() !== 'grpcurl') throw new Error(`not a grpcurl command: ${commandLine}`);
  let plaintext = false;
  let data: string | undefined;
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '-plaintext') plaintext = true;
    else if (flag === '-d') data = args.shift();
    else throw new Error(`emulator: unsupported grpcurl flag ${flag}`);
  }
  if (!plaintext) throw new Error(`emulator: no -plaintext, grpcurl would try TLS: ${commandLine}`);
  if (data === '@') {
    if (stdin === undefined) throw new Error('-d @ reads stdin, and nothing is piped in');
    data = stdin;
  }
  const [readmeAddress, verb, symbol, ...extra] = args;
  if (readmeAddress === undefined || verb === undefined || extra.length > 0) throw new Error(`emulator: cannot parse: ${commandLine}`);
  if (verb === 'list' && symbol === undefined) return { command: 'list', services: await list(address) };
  if (verb === 'describe' && symbol !== undefined) return { command: 'describe', description: await describe(address, symbol) };
  if (symbol !== undefined) throw new Error(`emulator: unsupported command: ${commandLine}`);
  return { command: 'invoke', method: verb, result: await invoke(address, verb, data ?? '') };
}

/** Lines of the README's code fences that start with `grpcurl ` or pipe into it, `\\` continuations joined. */
export function readmeGrpcurlLines(): string[] {
  const markdown = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const lines: string[] = [];
  let inFence = false;
  for (const line of markdown.replace(/\\\n\s*/g, ' ').split('\n')) {
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    else if (inFence && (line.trimStart().startsWith('grpcurl ') || line.includes('| grpcurl '))) lines.push(line.trim());
  }
  return lines;
}

/** The port a grpcurl line is addressed to (`localhost:8001` → 8001); undefined when it names none. */
export function grpcurlPort(line: string): number | undefined {
  const match = / (?:localhost|127\.0\.0\.1):(\d+) /.exec(line);
  return match === null ? undefined : Number(match[1]);
}
