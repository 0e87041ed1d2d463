/** `npm run test:stress`: the slow fault, fuzz and load suites under tests/stress (not in `npm test`). */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/tests/stress/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 1_800_000,
  maxWorkers: 1,
};
