/**
 * A unary gRPC call over bare node:http2. A grpc-js client ends a call itself when its deadline
 * passes; this one keeps no clock, so the status it reports is the server's own answer.
 */
import http2 from 'node:http2';

/** What the server answered: its status, message and the response messages' bytes. */
export interface RawAnswer {
  status: number;
  message: string;
  messages: Buffer[];
}

/** Sends one framed message to `path` with extra request headers (e.g. `grpc-timeout`), and reads the answer to its end. */
export async function rawUnary(address: string, path: string, message: Buffer, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  try {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status: string | undefined;
    let text = '';
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) text = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', take);
    stream.on('trailers', take);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([frame, message]));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const messages: Buffer[] = [];
    for (let at = 0; at < body.length; at += 5 + body.readUInt32BE(at + 1)) messages.push(body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)));
    if (status === undefined) throw new Error(`no grpc-status from ${address}${path}`);
    return { status: Number(status), message: text, messages };
  } finally {
    session.close();
  }
}
