#!/usr/bin/env node
// Runs the CLI from the compiled build (scripts/build; see ./compiled.js) when one exists: each module is taken from
// the build only while its source is unchanged, so edited code is never run stale. Without a build (development)
// tsx transpiles the TypeScript on load, as before.
'use strict';
const compiled = require('./compiled.js');
const useBuild = compiled.install();
if (!useBuild) require('tsx/cjs');
require('../src/index.ts')
  .main(process.argv, { commandIndex: useBuild ? compiled.commandIndex() : undefined })
  .catch((err) => {
    process.stderr.write(`snap-engine: ${err && err.message ? err.message : err}\n`);
    process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
  });
