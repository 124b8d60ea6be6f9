/**
 * Bearer tokens: calls that change what the server serves (load, unload, routing, reload, serving
 * status) need the admin token given at start-up; inference may need a token too. A call without
 * `authorization: Bearer <token>` gets UNAUTHENTICATED, one with another token PERMISSION_DENIED,
 * and the handler never runs (the ingress pipeline checks, ingress.ts).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { type Metadata, status } from '@grpc/grpc-js';

/** Tokens a server requires; absent: that kind of call is open. */
export interface AuthOptions {
  /** Required by every method that changes state. */
  adminToken?: string | undefined;
  /** Required by inference (and read-only admin) methods too. */
  inferenceToken?: string | undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Why `metadata` does not carry `token`, or undefined when it does. */
export function tokenProblem(metadata: Metadata, token: string): { code: status; details: string } | undefined {
  const header = metadata.get('authorization')[0];
  if (header === undefined) return { code: status.UNAUTHENTICATED, details: 'this method needs an authorization: Bearer <token> header' };
  const match = /^Bearer\s+(.+)$/i.exec(String(header));
  if (match === null) return { code: status.UNAUTHENTICATED, details: 'the authorization header must be "Bearer <token>"' };
  // Compared as digests: constant time, whatever the lengths.
  if (!timingSafeEqual(digest(match[1]!), digest(token))) return { code: status.PERMISSION_DENIED, details: 'the token does not grant this method' };
  return undefined;
}
