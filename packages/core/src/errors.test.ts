import { describe, expect, it } from 'vitest';
import { Code, codeOfStatus, detailsOf, errorCodes, internalError, invalidArgument, ModelServeError, statusNameOf } from './errors.js';

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
    expect(errorCodes.map((code) => [Code[code], statusNameOf(code)])).toEqual(grpcStatuses);
  });

  it('finds the code of a status number, and none for OK or numbers gRPC does not define', () => {
    for (const code of errorCodes) expect(codeOfStatus(Code[code])).toBe(code);
    expect([codeOfStatus(0), codeOfStatus(17), codeOfStatus(-1), codeOfStatus(3.5)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

/** What a ModelServeError says, own fields and message. */
const fieldsOf = (e: ModelServeError) => ({ name: e.name, code: e.code, errorCode: e.errorCode, codeName: e.codeName, details: e.details, endpoint: e.endpoint, message: e.message });

describe('ModelServeError', () => {
  it('is the same error by name or by gRPC status number, for every code', () => {
    for (const code of errorCodes) {
      const expected = { name: 'ModelServeError', code: Code[code], errorCode: code, codeName: statusNameOf(code), details: 'why', endpoint: undefined, message: `${statusNameOf(code)}: why` };
      expect(fieldsOf(new ModelServeError(code, 'why')), code).toEqual(expected);
      expect(fieldsOf(new ModelServeError(Code[code], 'why')), code).toEqual(expected);
    }
  });

  it('carries the details, the endpoint that answered and a cause; the message says all three', () => {
    const cause = new Error('disk full');
    const error = new ModelServeError('Unavailable', "model 'm' is loading", { cause });
    expect(error).toBeInstanceOf(Error);
    expect({ ...fieldsOf(error), cause: error.cause }).toEqual({
      name: 'ModelServeError',
      code: 14,
      errorCode: 'Unavailable',
      codeName: 'UNAVAILABLE',
      details: "model 'm' is loading",
      endpoint: undefined,
      message: "UNAVAILABLE: model 'm' is loading",
      cause,
    });
    expect(fieldsOf(new ModelServeError(Code.ResourceExhausted, 'queue is full', { endpoint: '127.0.0.1:8001' }))).toMatchObject({
      errorCode: 'ResourceExhausted',
      details: 'queue is full',
      endpoint: '127.0.0.1:8001',
      message: 'RESOURCE_EXHAUSTED: queue is full (127.0.0.1:8001)',
    });
    expect('cause' in new ModelServeError('NotFound', 'gone')).toBe(false);
    expect(fieldsOf(invalidArgument("input 'x' is missing"))).toMatchObject({ code: 3, errorCode: 'InvalidArgument', details: "input 'x' is missing" });
  });

  it('keeps a status number gRPC does not define, as CODE_<n> without a name', () => {
    expect(fieldsOf(new ModelServeError(99, 'odd'))).toEqual({ name: 'ModelServeError', code: 99, errorCode: undefined, codeName: 'CODE_99', details: 'odd', endpoint: undefined, message: 'CODE_99: odd' });
    expect(new ModelServeError(0, 'ok?')).toMatchObject({ code: 0, errorCode: undefined, codeName: 'CODE_0' });
  });

  it('from() keeps a ModelServeError, a gRPC status error its status and details, and makes anything else the fallback, with the value as its cause', () => {
    const known = new ModelServeError('NotFound', "model 'x' is not in the repository");
    expect(ModelServeError.from(known, { endpoint: 'a:1', fallback: 'Internal' })).toBe(known);

    const statusError = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established' });
    expect(ModelServeError.from(statusError, { endpoint: 'a:1', fallback: 'Internal', details: 'hidden' })).toMatchObject({
      code: 14,
      errorCode: 'Unavailable',
      details: 'No connection established',
      endpoint: 'a:1',
      message: 'UNAVAILABLE: No connection established (a:1)',
      cause: statusError,
    });
    expect(ModelServeError.from({ code: 4, message: 'late' })).toMatchObject({ errorCode: 'DeadlineExceeded', details: 'late' });

    const bug = new TypeError('oops');
    expect(ModelServeError.from(bug)).toMatchObject({ code: 2, errorCode: 'Unknown', details: 'oops', endpoint: undefined, cause: bug });
    expect(ModelServeError.from(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toMatchObject({ errorCode: 'Unknown', details: 'no such file' });
    expect(ModelServeError.from({ code: 42, details: 'odd' }, { fallback: 'Internal' })).toMatchObject({ errorCode: 'Internal', details: 'odd' });
    expect(ModelServeError.from('text', { fallback: Code.Internal })).toMatchObject({ errorCode: 'Internal', details: 'text', cause: 'text' });
    expect(ModelServeError.from('a string', { fallback: 'Internal', details: 'the backend failed' })).toMatchObject({ errorCode: 'Internal', details: 'the backend failed', cause: 'a string' });
    expect(ModelServeError.from(null)).toMatchObject({ errorCode: 'Unknown', details: 'null', cause: null });
  });

  it("internalError() keeps a ModelServeError and turns anything else into Internal with a generic message, the value as its cause", () => {
    const known = new ModelServeError('NotFound', "model 'x' is not in the repository");
    expect(internalError(known)).toBe(known);
    const bug = new TypeError('undefined is not a function');
    expect(internalError(bug)).toMatchObject({ errorCode: 'Internal', details: 'internal error', message: 'INTERNAL: internal error', cause: bug });
    expect(internalError('a string')).toMatchObject({ errorCode: 'Internal', details: 'internal error', cause: 'a string' });
  });

  it('detailsOf() reads the text of any thrown value without decoration', () => {
    expect(detailsOf(new ModelServeError('NotFound', 'gone', { endpoint: 'a:1' }))).toBe('gone');
    expect(detailsOf(Object.assign(new Error('5 NOT_FOUND: gone'), { details: 'gone' }))).toBe('gone');
    expect(detailsOf(new Error('broken'))).toBe('broken');
    expect([detailsOf('text'), detailsOf(undefined), detailsOf(7)]).toEqual(['text', 'undefined', '7']);
  });
});
