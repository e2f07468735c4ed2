#!/usr/bin/env node
// Compiles the workspaces' TypeScript once (esbuild, transpile only: `npm run typecheck` checks types) into the
// content-addressed build services/cli/bin/compiled.js loads: <out>/js/<sha1(path, source)>.js, <out>/commands.json
// (the CLI's command index, so `--help` loads no command module) and <out>/BUILD.json, written last, which turns the
// build on. Run by `npm run build`, npm's `prepare` (npm ci) and scripts/test.
//   node scripts/build.js [--out DIR]      (default: SNAPENGINE_BUILD_DIR or <repo>/dist)
// The new build is assembled beside the old one and swapped in by rename, so a CLI starting meanwhile sees either.
'use strict';
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
        const { code } = await esbuild.transform(source, compiled.esbuildOptions(file));
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

main().catch((e) => {
  process.stderr.write(`build: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
