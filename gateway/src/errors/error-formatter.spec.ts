import { Logger } from '@nestjs/common';
import { GraphQLError, locatedError } from 'graphql';
import { ERROR_CODES, errorFromPayload, InternalError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { ErrorFormatter, gatewayCodeOf, unauthenticated, withoutSuggestions } from './error-formatter';

describe('error mapping at the edge', () => {
  const formatter = new ErrorFormatter();
  const resolverError = (error: Error) => locatedError(error, undefined, ['dataset']);
  const format = (error: GraphQLError, scope = { correlationId: 'c0ffee00-0000-4000-8000-000000000000' }) => formatter.format({ ...error.toJSON(), extensions: { ...error.extensions, stacktrace: ['at secret (file.ts:1:1)'] } }, error, scope);

  it('maps every platform code to its API code', () => {
    const mapped = Object.fromEntries(ERROR_CODES.map((code) => [code, gatewayCodeOf(code)]));
    expect(mapped).toEqual({
      VALIDATION: 'BAD_USER_INPUT',
      NOT_FOUND: 'NOT_FOUND',
      CONFLICT: 'CONFLICT',
      FORBIDDEN: 'FORBIDDEN',
      UNAUTHENTICATED: 'UNAUTHENTICATED',
      UNAVAILABLE: 'SERVICE_UNAVAILABLE',
      INTERNAL: 'INTERNAL_SERVER_ERROR',
    });
    for (const code of ERROR_CODES.filter((c) => c !== 'INTERNAL')) {
      expect(format(resolverError(errorFromPayload({ code, message: `a ${code}` }))).extensions).toEqual({ code: gatewayCodeOf(code) });
    }
  });

  it('keeps the message and puts the details in extensions.details, never a stack trace', () => {
    const issues = [{ field: 'name', message: 'must not be empty' }];
    const formatted = format(resolverError(new ValidationError('request is invalid: field "name": must not be empty', { issues })));
    expect(formatted).toEqual({
      message: 'request is invalid: field "name": must not be empty',
      path: ['dataset'],
      extensions: { code: 'BAD_USER_INPUT', details: { issues } },
    });
    expect(format(resolverError(new NotFoundError('dataset x does not exist'))).extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('keeps GraphQL request errors as they are, without stack traces', () => {
    const validation = new GraphQLError('Cannot query field "nope" on type "Query".', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format(validation)).toEqual({ message: 'Cannot query field "nope" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format(unauthenticated('unknown bearer token')).extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('turns anything unexpected into INTERNAL_SERVER_ERROR naming the correlation id, and logs it', () => {
    const logged: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void logged.push(String(message)));
    try {
      const bug = format(resolverError(new TypeError("Cannot read properties of undefined (reading 'name')")));
      expect(bug).toEqual({
        message: 'internal error (correlation id c0ffee00-0000-4000-8000-000000000000)',
        path: ['dataset'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId: 'c0ffee00-0000-4000-8000-000000000000' },
      });
      const remote = format(resolverError(new InternalError('reply of mt.qry.datasets.GetDatasets does not match its schema', { issues: [] })));
      expect(remote.message).toBe('internal error (correlation id c0ffee00-0000-4000-8000-000000000000)');
      expect(remote.extensions).not.toHaveProperty('details');
      const nonNull = format(new GraphQLError('Cannot return null for non-nullable field Dataset.name.', { path: ['dataset', 'name'] }));
      expect(nonNull.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(logged).toEqual([
        expect.stringMatching(/internal error \(correlation id c0ffee00-.*\) at dataset: Cannot read properties of undefined/),
        expect.stringMatching(/does not match its schema/),
        expect.stringMatching(/Cannot return null for non-nullable field Dataset.name/),
      ]);
    } finally {
      spy.mockRestore();
    }
  });
  it('hides "Did you mean …?" when introspection is off, and keeps it otherwise', () => {
    const validation = new GraphQLError('Cannot query field "nme" on type "Dataset". Did you mean "name" or "names"?', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const enumValue = new GraphQLError('Variable "$s" got invalid value "ACTIV"; Value "ACTIV" does not exist in "Status" enum. Did you mean the enum value "ACTIVE"?', { extensions: { code: 'BAD_USER_INPUT' } });
    const hiding = new ErrorFormatter({ access: { graphqlIntrospection: false } } as never);
    expect(hiding.format(validation.toJSON(), validation, undefined).message).toBe('Cannot query field "nme" on type "Dataset".');
    expect(hiding.format(enumValue.toJSON(), enumValue, undefined).message).toBe('Variable "$s" got invalid value "ACTIV"; Value "ACTIV" does not exist in "Status" enum.');
    const showing = new ErrorFormatter({ access: { graphqlIntrospection: true } } as never);
    expect(showing.format(validation.toJSON(), validation, undefined).message).toMatch(/Did you mean "name" or "names"\?$/);
    expect(withoutSuggestions('Unknown argument "frist" on field "Query.datasets". Did you mean "first"?')).toBe('Unknown argument "frist" on field "Query.datasets".');
  });
});
