import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../lib/config';

describe('stage configuration', () => {
  test('dev and prod carry the upstream values', () => {
    const dev = loadConfig('dev');
    assert.deepEqual(
      [dev.allowedOrigins, dev.deploySeparateContainers, dev.enableUserAutoVerify, dev.ivsChannelType, dev.logRetention, dev.maxAzs, dev.natGateways],
      [['*'], false, true, 'BASIC', 7, 2, 1],
    );
    const prod = loadConfig('prod');
    assert.deepEqual(
      [prod.allowedOrigins, prod.deploySeparateContainers, prod.enableUserAutoVerify, prod.ivsChannelType, prod.logRetention, prod.maxAzs, prod.natGateways],
      [['http://localhost:3000'], true, false, 'STANDARD', undefined, 3, 2],
    );
    assert.equal(prod.retainData, true);
    assert.equal(dev.retainData, false);
  });

  test('missing keys take the defaults', () => {
    const cfg = parseConfig({ stageName: 'qa' }, 'qa.json');
    assert.equal(cfg.minScalingCapacity, 1);
    assert.equal(cfg.cleanupSchedule, 'rate(48 hours)');
    assert.deepEqual(cfg.signUpAllowedDomains, []);
    assert.equal(cfg.logRetention, undefined);
  });

  test('unknown keys are rejected with their name', () => {
    assert.throws(() => parseConfig({ stageName: 'dev', maxAz: 2 }, 'dev.json'), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /dev\.json/);
      assert.match(e.message, /unknown key "maxAz"/);
      return true;
    });
  });

  test('wrong types are rejected', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ maxAzs: '2' }, /"maxAzs" must be an integer/],
      [{ deploySeparateContainers: 'true' }, /"deploySeparateContainers" must be true or false/],
      [{ allowedOrigins: 'http://a.b' }, /"allowedOrigins" must be an array of strings/],
      [{ signUpAllowedDomains: [1] }, /"signUpAllowedDomains" must be an array of strings/],
      [{ logRetention: 7.5 }, /"logRetention" must be an integer/],
      [{ stageName: 3 }, /"stageName" must be a string/],
    ];
    for (const [doc, re] of cases) {
      assert.throws(() => parseConfig({ stageName: 'x', ...doc }, 'x.json'), re);
    }
  });

  test('values are range-checked', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ivsChannelType: 'PREMIUM' }, /"ivsChannelType" must be one of/],
      [{ logRetention: 8 }, /"logRetention" must be one of/],
      [{ natGateways: 3, maxAzs: 2 }, /"natGateways"/],
      [{ minScalingCapacity: 0 }, /"minScalingCapacity"/],
      [{ allowedOrigins: ['https://a.example/path'] }, /without a path/],
      [{ cleanupSchedule: 'every 2 days' }, /"cleanupSchedule"/],
      [{ apiOriginDomainName: 'a.example.com' }, /go together/],
    ];
    for (const [doc, re] of cases) {
      assert.throws(() => parseConfig({ stageName: 'x', ...doc }, 'x.json'), re);
    }
  });

  test('stage files: missing stage, bad JSON, required stageName', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-cfg-'));
    fs.writeFileSync(path.join(dir, 'broken.json'), '{ "stageName": ');
    fs.writeFileSync(path.join(dir, 'nameless.json'), '{}');
    assert.throws(() => loadConfig('staging', dir), /no configuration for stage "staging".*known stages: broken, nameless/s);
    assert.throws(() => loadConfig('broken', dir), /not valid JSON/);
    assert.throws(() => loadConfig('nameless', dir), /"stageName" is required/);
    assert.throws(() => loadConfig('../etc', dir), /invalid stage name/);
  });
});
