// The compiled CLI (scripts/build + bin/compiled.js): a build is used module by module only while the source is
// unchanged, the command index gives the same help as loading every command, and only the invoked command loads.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, commandToken, describeCommands } from './index';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require('../bin/compiled.js') as {
  moduleKey: (file: string, source: string) => string;
  esbuildOptions: (file: string) => object;
  finishCode: (code: string) => string;
};

describe('compiled build loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-build-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a module from the build while its source matches, and transpiles the current source once it changed', () => {
    const build = join(dir, 'build');
    mkdirSync(join(build, 'js'), { recursive: true });
    writeFileSync(join(build, 'BUILD.json'), '{}');
    const mod = join(dir, 'mod.ts');
    const v1 = `export const v: string = 'source-1';\n`;
    writeFileSync(mod, v1);
    // A build entry for v1 whose code says where it came from.
    writeFileSync(join(build, 'js', `${compiled.moduleKey(mod, v1)}.js`), `exports.v = 'from-build';\n`);
    const load = () =>
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(ROOT, 'services/cli/bin/compiled.js'))}).install() || process.exit(3); console.log(require(${JSON.stringify(mod)}).v)`], {
        env: { ...process.env, SNAPENGINE_BUILD_DIR: build },
        encoding: 'utf8',
      }).trim();
    expect(load()).toBe('from-build');
    writeFileSync(mod, `export const v: string = 'source-2';\n`);
    expect(load()).toBe('source-2');
  });

  it("re-exports each binding through the module's own getter, still live (finishCode)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as { transformSync: (src: string, opts: object) => { code: string } };
    const src = `export let n = 1;\nexport function bump(): void { n++; }\n`;
    const raw = esbuild.transformSync(src, compiled.esbuildOptions('m.ts')).code;
    const code = compiled.finishCode(raw);
    // The helper text matched (an esbuild upgrade that changes it fails here instead of silently slowing every call).
    expect(code).not.toBe(raw);
    const m = { exports: {} as { n: number; bump: () => void } };
    new Function('module', 'exports', 'require', code)(m, m.exports, require);
    const getter = Object.getOwnPropertyDescriptor(m.exports, 'n')!.get!;
    expect(getter.toString()).not.toContain('from[key]');
    expect(m.exports.n).toBe(1);
    m.exports.bump();
    expect(m.exports.n).toBe(2);
  });

  it('is off without a BUILD.json (the bin falls back to tsx)', () => {
    const r = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(join(ROOT, 'services/cli/bin/compiled.js'))}).install() ? 1 : 0)`], {
      env: { ...process.env, SNAPENGINE_BUILD_DIR: join(dir, 'none') },
    });
    expect(r.status).toBe(0);
  });

  it('scripts/build makes a build the bin runs: same --help and command output as under tsx', () => {
    const build = join(dir, 'dist');
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--out', build], { stdio: 'pipe' });
    const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const withBuild = { SNAPENGINE_BUILD_DIR: build, SNAPENGINE_BUILD_DEBUG: '1' };
    const tsx = { SNAPENGINE_TSX: '1' };
    for (const args of [['--help'], ['config'], ['config', '--help'], ['help', 'demo'], ['demo', '--help'], ['nosuchcommand']]) {
      const a = run(args, withBuild);
      const b = run(args, tsx);
      expect([args, a.status, a.stdout]).toEqual([args, b.status, b.stdout]);
      // Every module came from the build (none changed between build and run).
      expect(a.stderr).toMatch(/compiled build .*: \d+ modules from the build, 0 transpiled/);
    }
  }, 300_000);
});

describe('lazy command loading', () => {
  const index = describeCommands();
  const argv = (...a: string[]) => ['node', 'snap-engine', ...a];
  const loaded = (p: ReturnType<typeof buildProgram>, name: string) => p.commands.find((c) => c.name() === name)!.options.length > 0;

  it('lists every command in help from the index exactly as when all are loaded', () => {
    const eager = buildProgram().helpInformation();
    expect(buildProgram({ commandIndex: index, argv: argv('--help') }).helpInformation()).toBe(eager);
    expect(buildProgram({ commandIndex: index, argv: argv() }).helpInformation()).toBe(eager);
  });

  it('loads only the command being run', () => {
    const p = buildProgram({ commandIndex: index, argv: argv('-c', 'x.json', 'demo', '--seed', '3') });
    expect(loaded(p, 'demo')).toBe(true);
    expect(loaded(p, 'config')).toBe(false);
  });

  it('loads a command whose file changed since the index was written', () => {
    const stale = JSON.parse(JSON.stringify(index)) as typeof index;
    stale.files['config.ts']!.sha1 = '0'.repeat(40);
    const p = buildProgram({ commandIndex: stale, argv: argv('--help') });
    expect(loaded(p, 'config')).toBe(true);
    expect(loaded(p, 'demo')).toBe(false);
  });

  it('finds the command token past global options and help', () => {
    expect(commandToken(argv('--config', 'a.json', 'run', '--input', 'x'))).toBe('run');
    expect(commandToken(argv('help', 'feed'))).toBe('feed');
    expect(commandToken(argv('--help'))).toBeUndefined();
  });
});
