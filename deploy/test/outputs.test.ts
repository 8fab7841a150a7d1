import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const script = path.join(__dirname, '..', 'scripts', 'outputs-to-env.js');
const outputs = {
  apiBaseUrl: 'https://d1.cloudfront.net',
  channelType: 'STANDARD',
  userPoolClientId: 'client123',
  userPoolId: 'us-east-1_abc',
  region: 'us-east-1',
  stage: 'prod',
  enableAmazonProductStreamAction: 'false',
  albDnsName: 'x.elb.amazonaws.com',
};
const expected = [
  'REACT_APP_API_BASE_URL=https://d1.cloudfront.net',
  'REACT_APP_CHANNEL_TYPE=STANDARD',
  'REACT_APP_COGNITO_USER_POOL_CLIENT_ID=client123',
  'REACT_APP_COGNITO_USER_POOL_ID=us-east-1_abc',
  'REACT_APP_REGION=us-east-1',
  'REACT_APP_STAGE=prod',
  'REACT_APP_ENABLE_AMAZON_PRODUCT_STREAM_ACTION=false',
  '',
].join('\n');

function run(doc: unknown, ...args: string[]) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-out-')), 'outputs.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return { result: spawnSync(process.execPath, [script, file, ...args], { encoding: 'utf8' }) };
}

test('cdk --outputs-file format -> the seven .env lines', () => {
  const { result } = run({ 'UGC-prod': outputs }, 'UGC-prod');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, expected);
});

test('describe-stacks format, written to a file', () => {
  const doc = { Stacks: [{ StackName: 'UGC-prod', Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
  const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-env-')), '.env');
  const { result } = run(doc, 'UGC-prod', envFile);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(fs.readFileSync(envFile, 'utf8'), expected);
});

test('missing stack or outputs -> a clear error and a non-zero exit', () => {
  const other = run({ 'UGC-dev': outputs }, 'UGC-prod').result;
  assert.equal(other.status, 1);
  assert.match(other.stderr, /no outputs for stack UGC-prod/);
  const partial = run({ 'UGC-prod': { apiBaseUrl: 'x' } }, 'UGC-prod').result;
  assert.equal(partial.status, 1);
  assert.match(partial.stderr, /lacks the outputs channelType/);
});
