// Adopting an upstream deployment: the `existing*` keys import the tables, user pool + client,
// assets bucket and product secret instead of creating them; the migration task exists in both modes.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../lib/config';
import { asArray, logicalId, one, resources, roleActions, roleStatements, synth } from './helpers';

const ADOPT = {
  existingChannelsTableName: 'UGC-prod-ChannelsTable8A8B42C1-1ABCDEF',
  existingStreamsTableName: 'UGC-prod-Metrics-StreamsTable1234-9XYZ',
  existingUserPoolId: 'us-west-2_AbCdEf123',
  existingUserPoolClientId: '4a5b6c7d8e9f0g1h2i3j4k5l6m',
  existingChannelAssetsBucketName: 'ugc-prod-channelassetsbucket-1a2b3c',
  existingChannelAssetsBaseUrl: 'https://d111111abcdef8.cloudfront.net',
  existingProductApiSecret: 'Product_Advertising_API_Secret_Keys-AbCd',
};

function envOf(t: ReturnType<typeof synth>, prefix: string): Record<string, any> {
  const c = one(t, 'AWS::ECS::TaskDefinition', prefix).Properties.ContainerDefinitions[0];
  return Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
}

describe('adoption keys are validated like the others', () => {
  test('a complete adoption configuration parses', () => {
    const cfg = parseConfig({ stageName: 'prod', ...ADOPT }, 'prod.json');
    assert.equal(cfg.existingUserPoolId, ADOPT.existingUserPoolId);
    assert.equal(parseConfig({ stageName: 'dev' }, 'dev.json').existingChannelsTableName, '');
  });

  for (const [key, partner] of [
    ['existingChannelsTableName', 'existingStreamsTableName'],
    ['existingUserPoolId', 'existingUserPoolClientId'],
    ['existingChannelAssetsBucketName', 'existingChannelAssetsBaseUrl'],
  ] as const) {
    test(`${key} needs ${partner}`, () => {
      assert.throws(
        () => parseConfig({ stageName: 'prod', [key]: ADOPT[key] }, 'prod.json'),
        (e: Error) => e instanceof ConfigError && e.message.includes(`"${key}" and "${partner}" go together`),
      );
    });
  }

  test('malformed values are named', () => {
    for (const [key, value] of [
      ['existingUserPoolId', 'not-a-pool'],
      ['existingChannelAssetsBaseUrl', 'http://cdn.example/path'],
      ['existingChannelsTableName', 'a b'],
      ['existingProductApiSecret', 'arn:aws:s3:::bucket'],
    ] as const) {
      const doc = { stageName: 'prod', ...ADOPT, [key]: value };
      assert.throws(() => parseConfig(doc, 'prod.json'), (e: Error) => e.message.includes(`"${key}" must be`), key);
    }
    assert.throws(
      () => parseConfig({ stageName: 'prod', ...ADOPT, existingStreamsTableName: ADOPT.existingChannelsTableName }, 'p'),
      /must differ/,
    );
    assert.throws(() => parseConfig({ stageName: 'prod', existingUserPoolId: 7 }, 'p'), /must be a string/);
  });
});

describe('create mode (no existing* keys)', () => {
  for (const stage of ['dev', 'prod'] as const) {
    test(`${stage}: tables, pool, bucket and secret are created; no trigger attachment`, () => {
      const t = synth(stage);
      t.resourceCountIs('AWS::DynamoDB::Table', 2);
      t.resourceCountIs('AWS::Cognito::UserPool', 1);
      t.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
      t.resourceCountIs('Custom::AdoptedUserPoolTriggers', 0);
      one(t, 'AWS::S3::Bucket', 'ChannelAssetsBucket');
      one(t, 'AWS::SecretsManager::Secret', 'ProductApiSecret');
      const streams = one(t, 'AWS::DynamoDB::Table', 'StreamsTable');
      assert.ok(streams.Properties.GlobalSecondaryIndexes.some((g: any) => g.IndexName === 'liveIndex'));
    });
  }
});

describe('adopt mode', () => {
  for (const stage of ['dev', 'prod'] as const) {
    test(`${stage}: nothing of the upstream deployment is created; the services use its names`, () => {
      const t = synth(stage, ADOPT);
      t.resourceCountIs('AWS::DynamoDB::Table', 0);
      t.resourceCountIs('AWS::Cognito::UserPool', 0);
      t.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
      assert.equal(Object.keys(resources(t, 'AWS::S3::Bucket')).filter((id) => id.startsWith('ChannelAssets')).length, 0);
      t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 0);
      assert.equal(Object.keys(resources(t, 'AWS::SecretsManager::Secret')).filter((id) => id.startsWith('ProductApi')).length, 0);
      // No S3 notification on a bucket whose own notifications feed upstream's pipeline.
      t.resourceCountIs('Custom::S3BucketNotifications', 0);

      const serviceTask = stage === 'prod' ? 'ChannelsTask' : 'ApiTask';
      const env = envOf(t, serviceTask);
      assert.equal(env.CHANNELS_TABLE_NAME, ADOPT.existingChannelsTableName);
      assert.equal(env.STREAM_TABLE_NAME, ADOPT.existingStreamsTableName);
      assert.equal(env.USER_POOL_ID, ADOPT.existingUserPoolId);
      assert.equal(env.USER_POOL_CLIENT_ID, ADOPT.existingUserPoolClientId);
      assert.equal(env.CHANNEL_ASSETS_BUCKET_NAME, ADOPT.existingChannelAssetsBucketName);
      assert.equal(env.CHANNEL_ASSETS_BASE_URL, ADOPT.existingChannelAssetsBaseUrl);
      assert.equal(env.PRODUCT_API_SECRET_NAME, ADOPT.existingProductApiSecret);

      // The roles point at the adopted tables.
      const role = logicalId(t, 'AWS::IAM::Role', stage === 'prod' ? 'ChannelsTaskRole' : 'ApiTaskRole');
      const text = JSON.stringify(roleStatements(t, role));
      assert.ok(text.includes(`:table/${ADOPT.existingChannelsTableName}`), text);
      assert.ok(text.includes(`:table/${ADOPT.existingStreamsTableName}`), text);
    });
  }

  test('our three triggers are merged into the adopted pool and Cognito may invoke them', () => {
    const t = synth('prod', ADOPT);
    const attach = one(t, 'Custom::AdoptedUserPoolTriggers', 'AdoptedPoolTriggers').Properties;
    assert.equal(attach.UserPoolId, ADOPT.existingUserPoolId);
    assert.deepEqual(Object.keys(attach.Triggers).sort(), ['CustomMessage', 'PreAuthentication', 'PreSignUp']);
    for (const [name, prefix] of [
      ['PreSignUp', 'PreSignUpTrigger'],
      ['PreAuthentication', 'PreAuthenticationTrigger'],
      ['CustomMessage', 'CustomMessageTrigger'],
    ]) {
      assert.deepEqual(attach.Triggers[name], { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', prefix), 'Arn'] });
    }
    const permissions = Object.values(resources(t, 'AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'cognito-idp.amazonaws.com',
    );
    assert.equal(permissions.length, 3);
    for (const p of permissions) assert.ok(JSON.stringify(p.Properties.SourceArn).includes(`userpool/${ADOPT.existingUserPoolId}`));
    // The handler reads the pool before updating it (UpdateUserPool resets what it is not given).
    const handler = one(t, 'AWS::Lambda::Function', 'AdoptedPoolTriggersHandler').Properties;
    assert.match(handler.Code.ZipFile, /DescribeUserPoolCommand[\s\S]*UpdateUserPoolCommand/);
    assert.match(handler.Runtime, /^nodejs2[2-9]\.x$/);
    const actions = roleActions(t, logicalId(t, 'AWS::IAM::Role', 'AdoptedPoolTriggersHandlerServiceRole'));
    assert.deepEqual(actions.filter((a) => a.startsWith('cognito-idp:')).sort(), ['cognito-idp:DescribeUserPool', 'cognito-idp:UpdateUserPool']);
  });
});

describe('migration task', () => {
  for (const [name, overrides] of [['create', {}], ['adopt', ADOPT]] as const) {
    test(`${name}: a one-off ugc-admin task with its own role; services cannot UpdateTable`, () => {
      const t = synth('prod', overrides);
      const td = one(t, 'AWS::ECS::TaskDefinition', 'MigrateTask').Properties;
      const c = td.ContainerDefinitions[0];
      assert.equal(c.Name, 'ugc-admin');
      assert.deepEqual(c.Command.slice(0, 1), ['migrate']);
      assert.ok(c.Command.includes('--max-capacity'));
      const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
      if (name === 'adopt') {
        assert.equal(env.CHANNELS_TABLE_NAME, ADOPT.existingChannelsTableName);
        assert.equal(env.STREAM_TABLE_NAME, ADOPT.existingStreamsTableName);
      } else {
        assert.deepEqual(env.CHANNELS_TABLE_NAME, { Ref: logicalId(t, 'AWS::DynamoDB::Table', 'ChannelsTable') });
      }
      const migrateActions = roleActions(t, logicalId(t, 'AWS::IAM::Role', 'MigrateTaskRole'));
      for (const a of ['dynamodb:UpdateTable', 'dynamodb:DescribeTable', 'dynamodb:Scan', 'ivs:ListStreams']) {
        assert.ok(migrateActions.includes(a), a);
      }
      t.resourceCountIs('AWS::ECS::Service', 3);
      for (const prefix of ['ChannelsTaskRole', 'MetricsTaskRole', 'EventIngestTaskRole']) {
        const actions = roleActions(t, logicalId(t, 'AWS::IAM::Role', prefix));
        assert.ok(!actions.includes('dynamodb:UpdateTable') && !actions.includes('dynamodb:Scan'), prefix);
      }
      const outputs = t.toJSON().Outputs as Record<string, any>;
      for (const o of ['migrateTaskDefinitionArn', 'migrateCluster', 'migrateSubnets', 'migrateLogGroup']) assert.ok(o in outputs, o);
      assert.ok(asArray(td.RuntimePlatform.CpuArchitecture).includes('ARM64'));
    });
  }
});
