import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', 'bin', 'snap-engine.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('snap-engine CLI', () => {
  it('lists its commands in --help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('config');
  });

  it('exits non-zero naming the key when an env value is bad', () => {
    const r = run(['config'], { SNAP_SCORE_W_L: 'heavy' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('score.w_l');
  });

  it('exits non-zero naming the key when a config file value is bad', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cli-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ levels: { monitor_band: -1 } }));
    const r = run(['--config', file, 'config']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('levels.monitor_band');
  });
});
