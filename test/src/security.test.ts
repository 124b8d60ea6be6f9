/**
 * TLS, mutual TLS and bearer tokens, with certificates made by openssl at test time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status } from '@grpc/grpc-js';
import { bundledRepository } from '@modelserve/cli';
import { createClient, type ModelServeClient } from '@modelserve/client';
import { loadGrpcObject, type ModelAdminClient, type oip } from '@modelserve/proto';
import { startServer, type RunningServer } from '@modelserve/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, unary } from './support/server.js';

let dir: string;
const pem: Record<string, Buffer> = {};
const input = { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } };
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');
/** `modelserve ARGS` with extra environment variables. */
const modelserve = (env: Record<string, string>, ...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });

/** A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA. */
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelserve-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=modelserve test CA');
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', ...(who === 'server' ? ['-extfile', 'server.ext'] : []));
  }
  for (const name of ['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key']) pem[name] = await readFile(path.join(dir, name));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function serve(options: Partial<Parameters<typeof startServer>[0]>): Promise<RunningServer> {
  return startServer({ modelRepository: bundledRepository, host: '127.0.0.1', port: 0, ...options });
}

describe('TLS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ tls: { cert: pem['server.pem']!, key: pem['server.key']! } });
  }, 60_000);
  afterAll(() => server.close(1000));

  it('serves the CLI over TLS with $MODELSERVE_TLS_CA', async () => {
    const { stdout } = await modelserve({ MODELSERVE_TLS_CA: path.join(dir, 'ca.pem') }, 'models', '--address', server.address);
    expect(stdout).toMatch(/tiny_mlp\s+1\s+READY/);
  });

  it('serves the SDK over TLS and refuses plaintext', async () => {
    const secure = createClient({ endpoints: server.address, credentials: credentials.createSsl(pem['ca.pem']!) });
    const plain = createClient({ endpoints: server.address, timeoutMs: 3000 });
    try {
      expect((await secure.predict('tiny_mlp', input)).outputs['output']!.shape).toEqual([1, 3]);
      expect(await plain.predict('tiny_mlp', input).catch((e: { code: number }) => e.code)).toBe(status.UNAVAILABLE);
    } finally {
      await Promise.all([secure.close(), plain.close()]);
    }
  });
});

describe('mutual TLS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ tls: { cert: pem['server.pem']!, key: pem['server.key']!, clientCa: pem['ca.pem']! } });
  }, 60_000);
  afterAll(() => server.close(1000));

  it('requires a client certificate signed by the client CA', async () => {
    const withCert = createClient({ endpoints: server.address, credentials: credentials.createSsl(pem['ca.pem']!, pem['client.key']!, pem['client.pem']!) });
    const without = createClient({ endpoints: server.address, credentials: credentials.createSsl(pem['ca.pem']!), timeoutMs: 3000 });
    try {
      expect((await withCert.predict('tiny_mlp', input)).outputs['output']!.shape).toEqual([1, 3]);
      expect(await without.predict('tiny_mlp', input).catch((e: { code: number }) => e.code)).toBe(status.UNAVAILABLE);
    } finally {
      await Promise.all([withCert.close(), without.close()]);
    }
  });
});

describe('bearer tokens', () => {
  let server: RunningServer;
  let admin: ModelAdminClient;
  let oipClient: oip.GRPCInferenceServiceClient;
  const clients: ModelServeClient[] = [];
  beforeAll(async () => {
    server = await serve({ auth: { adminToken: 'admin-secret', inferenceToken: 'infer-secret' } });
    admin = new (loadGrpcObject(loadPackageDefinition).modelserve.v1.ModelAdmin)(server.address, credentials.createInsecure());
    oipClient = new (loadGrpcObject(loadPackageDefinition).inference.GRPCInferenceService)(server.address, credentials.createInsecure());
  }, 60_000);
  afterAll(async () => {
    admin.close();
    oipClient.close();
    await Promise.all(clients.map((c) => c.close()));
    await server.close(1000);
  });
  const bearer = (token?: string): Metadata => {
    const metadata = new Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };

  it('refuses admin changes without the admin token, and changes nothing', async () => {
    const unloadWith = (token?: string) => failure(unary((cb) => admin.UnloadModel({ name: 'tiny_mlp' }, bearer(token), cb)));
    expect(await unloadWith()).toMatchObject({ code: status.UNAUTHENTICATED, details: 'this method needs an authorization: Bearer <token> header' });
    expect(await unloadWith('infer-secret')).toMatchObject({ code: status.PERMISSION_DENIED, details: 'the token does not grant this method' });
    expect(await failure(unary((cb) => oipClient.RepositoryModelUnload({ model_name: 'tiny_mlp' }, bearer(), cb)))).toMatchObject({ code: status.UNAUTHENTICATED });
    expect(await failure(unary((cb) => admin.SetRouting({ name: 'mnist_mlp', routing: { default_version: '1' } }, bearer('nope'), cb)))).toMatchObject({ code: status.PERMISSION_DENIED });
    expect(server.registry.isReady('tiny_mlp')).toBe(true);
    expect(server.registry.routing('mnist_mlp').depth).toBe(0);
    // With the admin token the same call goes through.
    await unary((cb) => admin.LoadModel({ name: 'tiny_mlp' }, bearer('admin-secret'), cb));
  });

  it('lets the CLI in with $MODELSERVE_INFERENCE_TOKEN, and its admin commands with --token', async () => {
    const refused = await modelserve({}, 'models', '--address', server.address).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('authorization') });
    const { stdout } = await modelserve({ MODELSERVE_INFERENCE_TOKEN: 'infer-secret' }, 'models', '--address', server.address);
    expect(stdout).toMatch(/tiny_mlp\s+1\s+READY/);
    const routed = await modelserve({ MODELSERVE_INFERENCE_TOKEN: 'infer-secret' }, 'route', 'mnist_mlp', '--default', '1', '--token', 'admin-secret', '--address', server.address);
    expect(routed.stdout).toContain('default 1');
    await modelserve({ MODELSERVE_INFERENCE_TOKEN: 'infer-secret' }, 'rollback', 'mnist_mlp', '--token', 'admin-secret', '--address', server.address);
  });

  it('refuses $MODELSERVE_TOKEN, the old name, naming the variable to set instead', async () => {
    const expected = {
      code: 1,
      stdout: '',
      stderr: 'modelserve: $MODELSERVE_TOKEN is no longer read: put the inference token in $MODELSERVE_INFERENCE_TOKEN (the variable `modelserve serve` reads too) and unset MODELSERVE_TOKEN\n',
    };
    const environments: Array<Record<string, string>> = [{ MODELSERVE_TOKEN: 'infer-secret' }, { MODELSERVE_TOKEN: 'infer-secret', MODELSERVE_INFERENCE_TOKEN: 'infer-secret' }];
    for (const env of environments) {
      expect(await modelserve(env, 'models', '--address', server.address).catch((e: unknown) => e)).toMatchObject(expected);
    }
  });

  it('requires the inference token for inference when one is set, and leaves health open', async () => {
    const anonymous = createClient({ endpoints: server.address });
    const authorized = createClient({ endpoints: server.address, token: 'infer-secret' });
    clients.push(anonymous, authorized);
    expect(await anonymous.predict('tiny_mlp', input).catch((e: { code: number }) => e.code)).toBe(status.UNAUTHENTICATED);
    expect((await authorized.predict('tiny_mlp', input)).outputs['output']!.shape).toEqual([1, 3]);
    // The SDK's health watch needs no token: the endpoint was SERVING for both clients.
    expect(anonymous.stats().endpoints[0]!.health).toBe('SERVING');
  });
});
