import { status } from '@grpc/grpc-js';
import { ModelServeError as CoreError } from '@modelserve/core/errors';
import { describe, expect, it } from 'vitest';
import { ModelServeError } from './errors.js';

describe("the SDK's ModelServeError", () => {
  it('names its status as grpc-js does, and says where it came from', () => {
    const error = new ModelServeError(status.RESOURCE_EXHAUSTED, 'queue is full', '127.0.0.1:8001');
    expect(error).toMatchObject({
      name: 'ModelServeError',
      code: status.RESOURCE_EXHAUSTED,
      codeName: 'RESOURCE_EXHAUSTED',
      details: 'queue is full',
      endpoint: '127.0.0.1:8001',
      errorCode: 'ResourceExhausted',
      message: 'RESOURCE_EXHAUSTED: queue is full (127.0.0.1:8001)',
    });
    expect(new ModelServeError(99 as status, 'odd')).toMatchObject({ codeName: 'CODE_99', errorCode: undefined, message: 'CODE_99: odd' });
  });

  it('from() keeps a grpc-js status error, maps a core error by its code, and makes anything else the fallback', () => {
    const grpcError = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: status.UNAVAILABLE, details: 'No connection established' });
    expect(ModelServeError.from(grpcError, 'a:1')).toMatchObject({ code: status.UNAVAILABLE, details: 'No connection established', endpoint: 'a:1' });

    const core = new CoreError('NotFound', "model 'x' is not in the repository");
    expect(ModelServeError.from(core, 'local')).toMatchObject({ code: status.NOT_FOUND, codeName: 'NOT_FOUND', details: core.message, endpoint: 'local', cause: core });
    expect(ModelServeError.from(new CoreError('DeadlineExceeded', 'late'))).toMatchObject({ code: status.DEADLINE_EXCEEDED });

    expect(ModelServeError.from(new TypeError('oops'))).toMatchObject({ code: status.UNKNOWN, details: 'oops' });
    expect(ModelServeError.from('text', undefined, status.INTERNAL)).toMatchObject({ code: status.INTERNAL, details: 'text' });
    expect(ModelServeError.from(null)).toMatchObject({ code: status.UNKNOWN, details: 'null' });
    const same = new ModelServeError(status.CANCELLED, 'cancelled by the caller');
    expect(ModelServeError.from(same)).toBe(same);
  });
});
