'use strict';
// `node --require ./services/cli/bin/register.js file.ts`: loads TypeScript through the compiled build when there is
// one (see ./compiled.js; modules changed since are transpiled in memory), else through tsx. bench/run uses it.
if (!require('./compiled.js').install()) require('tsx/cjs');
