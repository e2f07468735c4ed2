// Transpile-only (swc): type checking is a separate step (`npm run typecheck`), so tests stay fast.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] };
// ui/ is the Angular workspace (built by scripts/build.js, not by jest); its build output repeats package names.
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'], modulePathIgnorePatterns: ['<rootDir>/ui/dist/'] };
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/**/*.test.ts', '<rootDir>/services/**/*.test.ts', '<rootDir>/ui/projects/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    // End-to-end runs of the CLI on the embedded default (no servers): `npx jest --selectProjects e2e`.
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // Fault injection over real servers (broker stop/start, leader kill, store restarts, poison records, shared
    // clusters): `npm run test:faults`. Each test starts the servers it breaks on its own ports (scripts/stack with
    // SNAP_RUN_DIR), so the main stack is never disturbed. See docs/reliability.md.
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'] },
  ],
};
