#!/usr/bin/env node
// Compiles the workspaces' TypeScript once (esbuild, transpile only: `npm run typecheck` checks types) into the
// content-addressed build services/cli/bin/compiled.js loads: <out>/js/<sha1(path, source)>.js, <out>/commands.json
// (the CLI's command index, so `--help` loads no command module) and <out>/BUILD.json, written last, which turns the
// build on. Run by `npm run build`, npm's `prepare` (npm ci) and scripts/test.
//   node scripts/build.js [--out DIR]      (default: SNAPENGINE_BUILD_DIR or <repo>/dist)
// The new build is assembled beside the old one and swapped in by rename, so a CLI starting meanwhile sees either.
// Then the Angular workspace (ui/): `ng build levels-ui` (the @snap/levels-ui library, ng-packagr → ui/dist/levels-ui)
// and `ng build dashboard` (the app the gateway serves → ui/dist/dashboard/browser), skipped when ui/dist/BUILD.json
// records the same hash of the ui sources and Angular version. SNAP_SKIP_UI_BUILD=1 skips it (the gateway then
// serves its plain page, services/gateway/public).
'use strict';
const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { basename, dirname, join, resolve } = require('node:path');
const esbuild = require('esbuild');
const compiled = require('../services/cli/bin/compiled.js');

const ROOT = compiled.ROOT;
const outArg = process.argv.indexOf('--out');
const OUT = resolve(outArg > 0 ? process.argv[outArg + 1] : compiled.BUILD_DIR);

/** Every .ts source of the workspaces the CLI can load (tests run under jest's own transform). */
function sources() {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  for (const group of ['packages', 'services']) {
    for (const ws of readdirSync(join(ROOT, group), { withFileTypes: true })) {
      const src = join(ROOT, group, ws.name, 'src');
      if (ws.isDirectory() && existsSync(src)) walk(src);
    }
  }
  return files.sort();
}

async function main() {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const tmp = `${OUT}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'js'), { recursive: true });
  const files = sources();
  let bytes = 0;
  const failed = [];
  await Promise.all(
    files.map(async (file) => {
      const source = readFileSync(file, 'utf8');
      try {
        const code = compiled.finishCode((await esbuild.transform(source, compiled.esbuildOptions(file))).code);
        bytes += code.length;
        writeFileSync(join(tmp, 'js', `${compiled.moduleKey(file, source)}.js`), code);
      } catch (e) {
        // A module that does not compile gets no entry: the loader transpiles it when it is required and reports
        // the same error there (and `npm run typecheck` reports it first). The rest of the build stays usable.
        failed.push(`${file}: ${String(e && e.message ? e.message : e).split('\n').slice(0, 2).join(' ')}`);
      }
    }),
  );
  for (const f of failed) process.stderr.write(`build: WARNING, not compiled (left to run-time transpiling): ${f}\n`);
  const stamp = { esbuild: esbuild.version, files: files.length - failed.length, failed: failed.length, options: compiled.esbuildOptions('<file>') };
  writeFileSync(join(tmp, 'BUILD.json'), `${JSON.stringify(stamp, null, 2)}\n`);
  // The command index comes from the command modules themselves, loaded through the build just made.
  try {
    const index = execFileSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(join(ROOT, 'services/cli/bin/compiled.js'))}).install(); process.stdout.write(JSON.stringify(require(${JSON.stringify(join(ROOT, 'services/cli/src/index.ts'))}).describeCommands()))`],
      { env: { ...process.env, SNAPENGINE_BUILD_DIR: tmp, SNAPENGINE_TSX: '' }, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    writeFileSync(join(tmp, 'commands.json'), `${JSON.stringify(JSON.parse(index), null, 2)}\n`);
  } catch (e) {
    // Without an index the CLI loads every command module (slower --help, same behaviour).
    process.stderr.write(`build: WARNING, no command index (a command module failed to load): ${String(e.stderr || e.message).trim().split('\n').slice(0, 3).join(' ')}\n`);
  }
  // Swap in: move any current build aside, then rename ours into place. Another build finishing at the same moment
  // can put its dir back in between (ENOTEMPTY/EEXIST): move that aside too and retry. Both builds are of the same
  // kind (content-addressed), so whichever lands last is fine.
  const old = `${OUT}.old-${process.pid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(OUT, `${old}-${attempt}`);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    try {
      renameSync(tmp, OUT);
      break;
    } catch (e) {
      if ((e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') || attempt >= 5) throw e;
    }
  }
  for (const d of readdirSync(dirname(OUT))) if (d.startsWith(`${basename(old)}-`)) rmSync(join(dirname(OUT), d), { recursive: true, force: true });
  const cpu = process.cpuUsage(cpu0);
  process.stderr.write(
    `build: ${files.length - failed.length} modules${failed.length ? ` (${failed.length} failed)` : ''} (${(bytes / 1024).toFixed(0)} KiB JS) → ${OUT} in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (this process; esbuild's own threads not counted)\n`,
  );
}

/** Hash of everything the Angular build reads from the repo (sources, configs) and the Angular version installed. */
function uiHash(uiRoot) {
  const h = createHash('sha1');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(p.slice(uiRoot.length)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(join(uiRoot, 'projects'));
  for (const f of ['angular.json', 'tsconfig.json', 'package.json']) h.update(f).update(readFileSync(join(uiRoot, f)));
  for (const pkg of ['@angular/core', '@angular/build', 'ng-packagr', 'lightweight-charts']) {
    try {
      h.update(pkg).update(JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`, { paths: [uiRoot] }), 'utf8')).version);
    } catch {
      h.update(`${pkg}:missing`);
    }
  }
  return h.digest('hex');
}

function buildUi() {
  const uiRoot = join(ROOT, 'ui');
  if (process.env.SNAP_SKIP_UI_BUILD === '1' || !existsSync(join(uiRoot, 'angular.json'))) return;
  const t0 = process.hrtime.bigint();
  const stampFile = join(uiRoot, 'dist', 'BUILD.json');
  const hash = uiHash(uiRoot);
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (stamp.hash === hash && existsSync(join(uiRoot, 'dist', 'dashboard', 'browser', 'index.html')) && existsSync(join(uiRoot, 'dist', 'levels-ui', 'package.json'))) {
      process.stderr.write('build: ui (Angular) up to date\n');
      return;
    }
  } catch {
    // no stamp: build
  }
  let ng;
  try {
    ng = require.resolve('@angular/cli/bin/ng.js', { paths: [uiRoot] });
  } catch {
    throw new Error('build: @angular/cli is not installed (run npm ci at the repo root: ui/ is a workspace)');
  }
  rmSync(stampFile, { force: true });
  const env = { ...process.env, NG_CLI_ANALYTICS: 'false', NG_FORCE_TTY: '0', NO_COLOR: '1' };
  for (const project of ['levels-ui', 'dashboard']) {
    try {
      execFileSync(process.execPath, [ng, 'build', project], { cwd: uiRoot, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch (e) {
      throw new Error(`build: ng build ${project} failed (ui/):\n${String(e.stdout || '').slice(-4000)}${String(e.stderr || '').slice(-4000)}`);
    }
  }
  writeFileSync(stampFile, `${JSON.stringify({ hash, built: new Date().toISOString() }, null, 2)}\n`);
  process.stderr.write(`build: ui (Angular library + dashboard) → ui/dist in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
}

main().then(() => buildUi()).catch((e) => {
  process.stderr.write(`build: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
