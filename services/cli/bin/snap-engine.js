#!/usr/bin/env node
// The workspaces ship TypeScript sources; tsx transpiles them on load so there is no stale build to forget.
require('tsx/cjs');
require('../src/index.ts').main(process.argv).catch((err) => {
  process.stderr.write(`snap-engine: ${err && err.message ? err.message : err}\n`);
  process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
});
