/** What the baseline servers (echo, naive) share: a Predictor on 127.0.0.1 and the port told to the parent. */
import * as grpc from '@grpc/grpc-js';
import { loadGrpcObject, type ModelAdminHandlers, type PredictorHandlers } from '@modelserve/proto';
import { serveCallsDirectly, ServerStatsRecorder } from '@modelserve/server';
import { exitWithParent } from './children.js';

/** The message a baseline server sends its parent once it listens. */
export interface ListeningMessage {
  type: 'listening';
  port: number;
}

/**
 * Serves `handlers` as `modelserve.v1.Predictor` on 127.0.0.1 (a free port) and tells the parent the
 * port. `ModelAdmin/GetServerStats` is served too (the other admin methods answer UNIMPLEMENTED), so
 * the benchmark reads a baseline's event-loop delay exactly as it reads modelserve's. With `direct`,
 * its Predict and PredictStream calls are answered on grpc-js's HTTP/2 streams the way modelserve's are
 * (`serveCallsDirectly`): the transport modelserve itself uses.
 */
export function listenOnLoopback(handlers: PredictorHandlers, { direct = false }: { direct?: boolean } = {}): void {
  const maxMessageBytes = 64 * 1024 * 1024;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.enable_channelz': 0 });
  const grpcObject = loadGrpcObject(grpc.loadPackageDefinition);
  server.addService(grpcObject.modelserve.v1.Predictor.service, handlers);
  const stats = new ServerStatsRecorder();
  const admin: Partial<ModelAdminHandlers> = {
    GetServerStats: (call, callback) => callback(null, stats.read(call.request.reset)),
  };
  server.addService(grpcObject.modelserve.v1.ModelAdmin.service, admin as ModelAdminHandlers);
  exitWithParent(() => server.forceShutdown());
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error !== null) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    const install = direct ? serveCallsDirectly(server, { maxReceiveMessageBytes: maxMessageBytes, maxSendMessageBytes: maxMessageBytes }) : undefined;
    if (install !== undefined && !install.installed) {
      process.stderr.write(`calls are not answered directly: ${install.reason}\n`);
      process.exit(1);
    }
    process.send?.({ type: 'listening', port } satisfies ListeningMessage);
  });
}
