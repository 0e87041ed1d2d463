/** ESM + ts-jest; see ../shared/STACK.md for why the custom environment exists. */
export default {
  testEnvironment: '<rootDir>/tests/support/node-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
};
