/** One jest configuration for unit, integration and end-to-end suites.
 *  Integration suites talk to the real PostgreSQL and NATS on localhost; each test file
 *  gets its own schema / stream names (see libs/testing). Type-checking is `npm run typecheck`. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { compilerOptions } = require('./tsconfig.json');

module.exports = {
  testEnvironment: 'node',
  roots: ['libs', 'services', 'gateway', 'infra', 'cli', 'bench', 'test'].filter((dir) => existsSync(join(__dirname, dir))).map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    // hyparquet and hyparquet-writer ship ES modules only: compile them to CommonJS for jest
    // (plain Node loads them with import(); see libs/tabular/src/parquet.ts).
    '^.+/node_modules/hyparquet(-writer)?/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true, sourceMap: false } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer)/)'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testTimeout: 60_000,
  slowTestThreshold: 20,
  // The test database (an embedded PostgreSQL when this machine has none) and whether NATS answers.
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
