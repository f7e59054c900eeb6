import { ValidationError } from '@modeltrail/contracts';
import { toCleaningSteps, toValidationRules } from './dataset.inputs';

describe('flat rule and step inputs', () => {
  it('become the contract discriminated union, keeping only what the client set', () => {
    expect(
      toValidationRules([
        { type: 'RANGE', column: 'age', min: 0, max: null, values: null },
        { type: 'ALLOWED_VALUES', column: 'country', values: ['FR', 'DE'] },
        { type: 'NOT_NULL', column: 'id' },
      ]),
    ).toEqual([
      { type: 'RANGE', column: 'age', min: 0 },
      { type: 'ALLOWED_VALUES', column: 'country', values: ['FR', 'DE'] },
      { type: 'NOT_NULL', column: 'id' },
    ]);
    expect(toCleaningSteps([{ type: 'FILL_MISSING', column: 'age', strategy: 'CONSTANT', value: 0 }, { type: 'DROP_MISSING' }])).toEqual([
      { type: 'FILL_MISSING', column: 'age', strategy: 'CONSTANT', value: 0 },
      { type: 'DROP_MISSING' },
    ]);
  });

  it('refuses a field the type does not take, naming it', () => {
    let error: unknown;
    try {
      toValidationRules([{ type: 'NOT_NULL', column: 'id' }, { type: 'RANGE', column: 'age', min: 1, pattern: '^x' }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toBe('input is invalid: field "rules[1].pattern": a RANGE rule takes no pattern');
    expect((error as ValidationError).details).toEqual({ issues: [{ field: 'rules[1].pattern', message: 'a RANGE rule takes no pattern' }] });
    expect(() => toCleaningSteps([{ type: 'CAST', column: 'age', to: 'INTEGER', strategy: 'MEAN' }])).toThrow('field "steps[0].strategy": a CAST step takes no strategy');
  });
});
