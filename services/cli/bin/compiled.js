'use strict';
// Loads the workspaces' TypeScript from a build made by scripts/build (esbuild, once) instead of transpiling it with
// tsx on every start. tsx wraps every function in __name() (keepNames), which made hot paths ~3× slower, and
// transpiles each module at run time.
//
// The build is a content-addressed cache: `<build>/js/<sha1(relative path, source)>.js`. Every .ts module is looked
// up by the hash of its CURRENT source when it is required, so an edited file can never run stale compiled code:
// it misses the cache and is transpiled in memory (esbuild, same options) for that run. Modules keep their .ts
// filename, so __dirname-relative assets (schemas/avro, gateway/public) resolve as before.
//
// Active only when `<build>/BUILD.json` exists (written last by scripts/build); SNAPENGINE_TSX=1 forces tsx.
// (Not SNAP_*: every SNAP_<SECTION>_<KEY> variable is a config key and unknown ones are rejected.)
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

const ROOT = join(__dirname, '..', '..', '..');
const BUILD_DIR = process.env.SNAPENGINE_BUILD_DIR || join(ROOT, 'dist');

/** The key of one module's compiled code: its repo-relative path and exact source text. */
function moduleKey(file, source) {
  return createHash('sha1').update(relative(ROOT, file).split(sep).join('/')).update('\0').update(source).digest('hex');
}

/** esbuild options shared by scripts/build and the in-memory fallback (recorded in BUILD.json). */
function esbuildOptions(file) {
  return {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    platform: 'node',
    sourcemap: 'inline',
    sourcefile: file,
    // The same interop tsx gives (tsconfig esModuleInterop), without keepNames' __name() wrappers.
    tsconfigRaw: { compilerOptions: { esModuleInterop: true, verbatimModuleSyntax: false } },
  };
}

// esbuild's ESM→CJS interop re-exports every binding through ONE shared getter, `() => from[key]`: every call of an
// imported function (`(0, import_numeric.roundTo)(x)`) ran it, a keyed load that is megamorphic because the same code
// serves every export of every module — about 10% of the snap engine's time (issue 15). The re-export takes the
// module's own getter instead (`() => roundTo`, one per binding, still a live binding), which V8 inlines. Applied to
// every compiled module (scripts/build and the in-memory fallback); code without the helper is left as it is.
const SHARED_GETTER = '{ get: () => from[key], enumerable:';
const OWN_GETTER = '{ get: (__getOwnPropDesc(from, key) || {}).get || (() => from[key]), enumerable:';
function finishCode(code) {
  return code.includes(SHARED_GETTER) ? code.replace(SHARED_GETTER, OWN_GETTER) : code;
}

let build = null;
const stats = { hits: 0, misses: 0 };

/** Installs the .ts loader when a build exists; returns false (caller falls back to tsx) otherwise. */
function install() {
  if (process.env.SNAPENGINE_TSX === '1') return false;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(BUILD_DIR, 'BUILD.json'), 'utf8'));
  } catch {
    return false;
  }
  build = { dir: BUILD_DIR, stamp };
  let esbuild = null;
  require.extensions['.ts'] = function loadTs(module, filename) {
    const source = readFileSync(filename, 'utf8');
    let code;
    try {
      code = readFileSync(join(BUILD_DIR, 'js', `${moduleKey(filename, source)}.js`), 'utf8');
      stats.hits++;
    } catch {
      // Edited since the build (or never built): transpile this module now; the build dir is never written here.
      esbuild ??= require('esbuild');
      code = finishCode(esbuild.transformSync(source, esbuildOptions(filename)).code);
      stats.misses++;
    }
    module._compile(code, filename);
  };
  // The compiled modules carry inline source maps, but node parses them only under --enable-source-maps
  // (NODE_OPTIONS=--enable-source-maps for stack traces into the .ts sources): parsing them on every start cost more
  // than the rest of `--help`.
  if (process.env.SNAPENGINE_BUILD_DEBUG === '1') {
    process.on('exit', () => process.stderr.write(`[snap-engine] compiled build ${BUILD_DIR}: ${stats.hits} modules from the build, ${stats.misses} transpiled (changed since)\n`));
  }
  return true;
}

/**
 * The command index scripts/build wrote (top-level help without loading every command module), or undefined.
 * Each entry carries the sha1 of its command file; services/cli/src/index.ts uses an entry only when it matches.
 */
function commandIndex() {
  if (!build) return undefined;
  try {
    return JSON.parse(readFileSync(join(build.dir, 'commands.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

module.exports = { install, commandIndex, moduleKey, esbuildOptions, finishCode, BUILD_DIR, ROOT, stats };
