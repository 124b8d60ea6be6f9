import { status } from '@grpc/grpc-js';
import { errorCodes, internalError, ModelServeError, statusNameOf, type Logger } from '@modelserve/core';
import { TensorCodecError } from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { callStatusOf } from './status.js';

function recordingLogger(): Logger & { lines: Array<{ fields: object; message: string }> } {
  const lines: Array<{ fields: object; message: string }> = [];
  const log = (fields: object, message: string) => lines.push({ fields, message });
  return { lines, info: log, warn: log, error: log };
}

describe('error → gRPC status', () => {
  it("answers every error code as grpc-js's status of the same name, with the details and not the decorated message", () => {
    const logger = recordingLogger();
    for (const code of errorCodes) {
      const error = new ModelServeError(code, `why ${code}`);
      expect(callStatusOf(error, logger), code).toEqual({ code: status[statusNameOf(code) as keyof typeof status], details: `why ${code}` });
      expect(status[callStatusOf(error, logger).code], code).toBe(statusNameOf(code));
    }
    const answered = errorCodes.map((code) => callStatusOf(new ModelServeError(code, ''), logger).code);
    const failures = Object.values(status).filter((s): s is status => typeof s === 'number' && s !== status.OK);
    expect(answered.sort((a, b) => a - b)).toEqual(failures.sort((a, b) => a - b));
  });

  it('keeps the details of a known error and logs nothing', () => {
    const logger = recordingLogger();
    expect(callStatusOf(new ModelServeError('NotFound', "model 'x' is not in the repository"), logger)).toEqual({
      code: status.NOT_FOUND,
      details: "model 'x' is not in the repository",
    });
    expect(callStatusOf(new TensorCodecError('shape', "input 'x': bad shape"), logger)).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "input 'x': bad shape",
    });
    expect(logger.lines).toEqual([]);
  });

  it('logs an Internal error with its cause, and answers its details', () => {
    const logger = recordingLogger();
    const cause = new TypeError('undefined is not a function');
    const error = internalError(cause);
    expect(callStatusOf(error, logger)).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(logger.lines).toEqual([{ fields: { err: error, cause }, message: 'internal error' }]);
  });

  it('turns anything else into INTERNAL with a generic message, and logs it', () => {
    const logger = recordingLogger();
    const bug = new TypeError("Cannot read properties of undefined (reading 'shape')");
    const answered = callStatusOf(bug, logger);
    expect(answered).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(logger.lines).toEqual([{ fields: { err: bug }, message: 'unexpected error' }]);
    expect(callStatusOf('a string', logger).details).toBe('internal error');
  });
});
