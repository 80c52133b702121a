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
      testTimeout: 120000,
    },
    {
      // Reliability and security scenarios; `make test` runs them short, `make reliability` at full scale.
      displayName: 'reliability',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/reliability/**/*.test.ts'],
      testTimeout: 1_800_000,
    },
    { displayName: 'e2e', testEnvironment: 'node', transform: tsJest, testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], testTimeout: 300000 },
  ],
  maxWorkers: 1,
  testTimeout: 300000,
};
