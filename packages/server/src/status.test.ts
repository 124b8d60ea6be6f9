import { status } from '@grpc/grpc-js';
import { errorCodes, ModelServeError, statusNameOf, type Logger } from '@modelserve/core';
import { TensorCodecError } from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { callStatusOf, grpcStatusOf } from './status.js';

function recordingLogger(): Logger & { lines: Array<{ fields: object; message: string }> } {
  const lines: Array<{ fields: object; message: string }> = [];
  const log = (fields: object, message: string) => lines.push({ fields, message });
  return { lines, info: log, warn: log, error: log };
}

describe('error → gRPC status', () => {
  it('maps every core error code to its own status', () => {
    expect(Object.keys(grpcStatusOf).sort()).toEqual([...errorCodes].sort());
    expect(new Set(Object.values(grpcStatusOf)).size).toBe(errorCodes.length);
    expect(grpcStatusOf.InvalidArgument).toBe(status.INVALID_ARGUMENT);
    expect(grpcStatusOf.Unavailable).toBe(status.UNAVAILABLE);
  });

  it("numbers and names every code as grpc-js's status enum does, and leaves no failure status out", () => {
    for (const code of errorCodes) {
      expect(status[grpcStatusOf[code]], code).toBe(statusNameOf(code));
      expect(status[statusNameOf(code) as keyof typeof status], code).toBe(grpcStatusOf[code]);
    }
    const failures = Object.values(status).filter((s): s is status => typeof s === 'number' && s !== status.OK);
    expect(Object.values(grpcStatusOf).sort((a, b) => a - b)).toEqual(failures.sort((a, b) => a - b));
  });

  it('keeps the message of a known error and logs nothing', () => {
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

  it('turns anything else into INTERNAL with a generic message, and logs it', () => {
    const logger = recordingLogger();
    const bug = new TypeError("Cannot read properties of undefined (reading 'shape')");
    const answered = callStatusOf(bug, logger);
    expect(answered).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(logger.lines).toEqual([{ fields: { err: bug }, message: 'unexpected error' }]);
    expect(callStatusOf('a string', logger).details).toBe('internal error');
  });
});
