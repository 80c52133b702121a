/** Three tiers; `make test` runs them all against the services scripts/test.sh starts. */
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
module.exports = {
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform: tsJest, testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      // Reliability and security scenarios; `make test` runs them short, `make reliability` at full scale.
      displayName: 'reliability',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/reliability/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/reliability/support/longTests.ts'],
    },
    { displayName: 'e2e', testEnvironment: 'node', transform: tsJest, testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
  maxWorkers: 1,
  // Names (and stops) what the tests left open, so a forgotten process cannot hang the run.
  globalTeardown: '<rootDir>/test/support/leftoverHandles.ts',
  transform: tsJest,
  // Jest takes this only here, for every project; the reliability project raises it for itself.
  testTimeout: 300000,
};
