import { describe, expect, it } from 'vitest';
import { Code, codeOfStatus, errorCodes, invalidArgument, ModelServeError, statusNameOf, statusOf } from './errors.js';

/** gRPC's status codes as its specification numbers and names them (OK left out: it is no error). */
const grpcStatuses: Array<[number, string]> = [
  [1, 'CANCELLED'],
  [2, 'UNKNOWN'],
  [3, 'INVALID_ARGUMENT'],
  [4, 'DEADLINE_EXCEEDED'],
  [5, 'NOT_FOUND'],
  [6, 'ALREADY_EXISTS'],
  [7, 'PERMISSION_DENIED'],
  [8, 'RESOURCE_EXHAUSTED'],
  [9, 'FAILED_PRECONDITION'],
  [10, 'ABORTED'],
  [11, 'OUT_OF_RANGE'],
  [12, 'UNIMPLEMENTED'],
  [13, 'INTERNAL'],
  [14, 'UNAVAILABLE'],
  [15, 'DATA_LOSS'],
  [16, 'UNAUTHENTICATED'],
];

describe('the error code table', () => {
  it("gives every gRPC failure status exactly one code, with gRPC's number and name", () => {
    expect(errorCodes.map((code) => [statusOf(code), statusNameOf(code)])).toEqual(grpcStatuses);
    expect(errorCodes.map((code) => Code[code])).toEqual(grpcStatuses.map(([n]) => n));
  });

  it('finds the code of a status number, and none for OK or numbers gRPC does not define', () => {
    for (const code of errorCodes) expect(codeOfStatus(statusOf(code))).toBe(code);
    expect([codeOfStatus(0), codeOfStatus(17), codeOfStatus(-1), codeOfStatus(3.5)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('ModelServeError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('disk full');
    const error = new ModelServeError('Unavailable', "model 'm' is loading", { cause });
    expect(error).toBeInstanceOf(Error);
    expect({ name: error.name, code: error.code, message: error.message, cause: error.cause }).toEqual({
      name: 'ModelServeError',
      code: 'Unavailable',
      message: "model 'm' is loading",
      cause,
    });
    expect(invalidArgument("input 'x' is missing")).toMatchObject({ code: 'InvalidArgument', message: "input 'x' is missing" });
  });

  it('from() keeps a ModelServeError and turns anything else into Internal with the value as its cause', () => {
    const known = new ModelServeError('NotFound', "model 'x' is not in the repository");
    expect(ModelServeError.from(known)).toBe(known);
    const bug = new TypeError('undefined is not a function');
    expect(ModelServeError.from(bug)).toMatchObject({ code: 'Internal', message: 'internal error', cause: bug });
    expect(ModelServeError.from('a string', 'the backend failed')).toMatchObject({ code: 'Internal', message: 'the backend failed', cause: 'a string' });
  });
});
