import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const deployDir = path.join(__dirname, '..');

function runApp(context: Record<string, string>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-app-'));
  return spawnSync(
    process.execPath,
    [require.resolve('ts-node/dist/bin.js'), '--transpile-only', '--prefer-ts-exts', 'bin/app.ts'],
    {
      cwd: deployDir,
      encoding: 'utf8',
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    },
  );
}

test('an unknown stage stops the app with a clear error', () => {
  const r = runApp({ stage: 'staging', skipBundling: 'true' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: no configuration for stage "staging".*known stages: dev, prod/s);
});

test('.dockerignore keeps the image context to the sources', () => {
  const lines = fs.readFileSync(path.join(deployDir, '..', '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['target/', '.local/', '.git', '**/node_modules/', 'deploy/*', '!deploy/docker/']) {
    assert.ok(lines.includes(entry), `.dockerignore lacks ${entry}`);
  }
});
