/** ESM + ts-jest; see ../shared/STACK.md for why the custom environment exists. */
export default {
  testEnvironment: '<rootDir>/tests/support/node-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  // tests/stress runs under `npm run test:stress` (jest.stress.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/stress/'],
  testTimeout: 120000,
  maxWorkers: 2,
};
