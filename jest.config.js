/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
  // Setting a limit makes jest use workers even for one file, where it would otherwise run in band:
  // global-setup's NODE_EXTRA_CA_CERTS (the local push service's CA) is read only when a process
  // starts, so an in-band desk would not trust the push service. High enough never to recycle.
  workerIdleMemoryLimit: '4GB',
};
