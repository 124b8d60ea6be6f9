import { Metadata, status } from '@grpc/grpc-js';
import { errorCodes, ModelServeError as CoreError } from '@modelserve/core/errors';
import { describe, expect, it } from 'vitest';
import { ModelServeError as Exported } from './index.js';
import { cancelledByCaller, ModelServeError } from './errors.js';

// The class itself (codes by name and number, from(), details, message) is tested with core's table
// in packages/core/src/errors.test.ts; here, what the SDK adds: grpc-js's view of it.
describe("the SDK's ModelServeError", () => {
  it("is core's one class, exported under the same name", () => {
    expect(ModelServeError).toBe(CoreError);
    expect(Exported).toBe(CoreError);
    expect(new CoreError('NotFound', 'gone')).toBeInstanceOf(Exported);
  });

  it("numbers and names every code as grpc-js's status enum does", () => {
    for (const code of errorCodes) {
      const error = new ModelServeError(code, 'why');
      expect(status[error.code], code).toBe(error.codeName);
      expect(new ModelServeError(status[error.codeName as keyof typeof status], 'why'), code).toMatchObject({ code: error.code, errorCode: code });
    }
  });

  it('keeps the status and details of a grpc-js ServiceError, with the endpoint that answered', () => {
    const serviceError = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: status.UNAVAILABLE, details: 'No connection established', metadata: new Metadata() });
    expect(ModelServeError.from(serviceError, { endpoint: 'a:1' })).toMatchObject({
      code: status.UNAVAILABLE,
      codeName: 'UNAVAILABLE',
      details: 'No connection established',
      endpoint: 'a:1',
      message: 'UNAVAILABLE: No connection established (a:1)',
      cause: serviceError,
    });
  });

  it('cancelledByCaller() is CANCELLED', () => {
    expect(cancelledByCaller()).toMatchObject({ code: status.CANCELLED, errorCode: 'Cancelled', details: 'cancelled by the caller', endpoint: undefined });
  });
});
