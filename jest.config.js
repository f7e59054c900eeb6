/** One jest configuration for unit, integration and end-to-end suites.
 *  Integration suites talk to the real PostgreSQL and NATS on localhost; each test file
 *  gets its own schema / stream names (see libs/testing). Type-checking is `npm run typecheck`. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { compilerOptions } = require('./tsconfig.json');

module.exports = {
  testEnvironment: 'node',
  roots: ['libs', 'services', 'gateway', 'infra', 'bench', 'test'].filter((dir) => existsSync(join(__dirname, dir))).map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testTimeout: 60_000,
  slowTestThreshold: 20,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
