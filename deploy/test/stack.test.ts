import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { IVS_DETAIL_TYPES, INGEST_SECRET_HEADER, ORIGIN_VERIFY_HEADER } from '../lib/ugc-stack';
import { asArray, logicalId, one, resources, roleActions, roleStatements, synth } from './helpers';

const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

const layouts = [
  { name: 'dev (combined)', stage: 'dev' as const, overrides: {}, separate: false },
  { name: 'prod (separate)', stage: 'prod' as const, overrides: {}, separate: true },
  { name: 'dev (separate)', stage: 'dev' as const, overrides: { deploySeparateContainers: true }, separate: true },
  { name: 'prod (combined)', stage: 'prod' as const, overrides: { deploySeparateContainers: false }, separate: false },
];

describe('both stages and both layouts synthesize', () => {
  for (const l of layouts) {
    test(l.name, () => {
      const t = synth(l.stage, l.overrides);
      const services = resources(t, 'AWS::ECS::Service');
      assert.equal(Object.keys(services).length, l.separate ? 3 : 2);
      const names = Object.keys(services).map((id) => id.replace(/Service[0-9A-F]{8}$/, '')).sort();
      assert.deepEqual(names, l.separate ? ['Channels', 'EventIngest', 'Metrics'] : ['Api', 'EventIngest']);
      t.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
      t.resourceCountIs('AWS::ApiGateway::Account', 0);
      t.resourceCountIs('AWS::ApiGateway::Method', 0);
    });
  }
});

describe('IAM per route set', () => {
  const prod = synth('prod');
  const channels = logicalId(prod, 'AWS::IAM::Role', 'ChannelsTaskRole');
  const metrics = logicalId(prod, 'AWS::IAM::Role', 'MetricsTaskRole');
  const ingest = logicalId(prod, 'AWS::IAM::Role', 'EventIngestTaskRole');

  test('channels role lacks CloudWatch and has its IVS, chat, Cognito and S3 actions', () => {
    const actions = roleActions(prod, channels);
    assert.ok(!actions.some((a) => a.startsWith('cloudwatch:')), actions.join());
    for (const a of [
      'ivs:CreateChannel',
      'ivs:DeleteChannel',
      'ivs:StopStream',
      'ivs:CreateStreamKey',
      'ivs:DeleteStreamKey',
      'ivs:PutMetadata',
      'ivs:GetStreamSession',
      'ivschat:CreateRoom',
      'ivschat:DeleteRoom',
      'ivschat:CreateChatToken',
      'ivschat:DisconnectUser',
      'ivschat:SendEvent',
      'cognito-idp:AdminDeleteUser',
      'cognito-idp:AdminUserGlobalSignOut',
      'dynamodb:ConditionCheckItem',
      'dynamodb:BatchWriteItem',
      's3:PutObject',
      's3:ListBucket',
      'secretsmanager:GetSecretValue',
    ]) {
      assert.ok(actions.includes(a), `channels role misses ${a}`);
    }
    assert.ok(!actions.includes('cognito-idp:ForgotPassword'));
    assert.ok(!actions.includes('s3:DeleteObjects'), 'not a real IAM action');
  });

  test('IVS and chat writes are tag-conditioned on project', () => {
    for (const s of roleStatements(prod, channels)) {
      const actions = asArray<string>(s.Action);
      if (actions.some((a) => /^ivs(chat)?:(CreateChannel|DeleteChannel|StopStream|CreateRoom|DeleteRoom|TagResource)$/.test(a))) {
        const cond = JSON.stringify(s.Condition ?? {});
        assert.match(cond, /aws:(Request|Resource)Tag\/project/, `${actions} without a tag condition`);
      }
    }
  });

  test('metrics role lacks IVS Create* and anything on the channels table', () => {
    const actions = roleActions(prod, metrics);
    assert.ok(!actions.some((a) => /^ivs(chat)?:Create/.test(a)), actions.join());
    assert.ok(actions.includes('cloudwatch:GetMetricData'));
    assert.ok(actions.includes('ivs:GetStreamSession'));
    assert.ok(!actions.some((a) => a.startsWith('cognito-idp:') || a.startsWith('s3:')));
  });

  test('event-ingest role: streams writes, channel lookup by channelArnIndex, the directory mirror only, ListStreams', () => {
    const statements = roleStatements(prod, ingest);
    const actions = statements.flatMap((s) => asArray<string>(s.Action));
    assert.ok(actions.includes('ivs:ListStreams'));
    assert.ok(actions.includes('dynamodb:PutItem'));
    const channelLookup = statements.find((s) => s.Sid === 'ChannelOwner');
    assert.match(JSON.stringify(channelLookup.Resource), /\/index\/channelArnIndex/);
    assert.deepEqual(asArray(channelLookup.Action), ['dynamodb:Query']);
    // The directory mirror: writes limited to the mirror's attributes, reads to its index.
    const mirrorWrite = statements.find((s) => s.Sid === 'DirectoryMirrorWrite');
    assert.deepEqual(asArray(mirrorWrite.Action).sort(), ['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(mirrorWrite.Condition['ForAllValues:StringEquals']['dynamodb:Attributes'], [
      'id',
      'channelArn',
      'isLive',
      'liveStartTime',
      'liveStreamId',
      'liveVersion',
      'liveChannelArn',
    ]);
    const mirrorRead = statements.find((s) => s.Sid === 'DirectoryMirrorRead');
    assert.match(JSON.stringify(mirrorRead.Resource), /\/index\/directoryIndex/);
  });

  test('no GetSecretValue on "*" anywhere', () => {
    for (const l of layouts) {
      const t = synth(l.stage, l.overrides);
      const docs = [
        ...Object.values(resources(t, 'AWS::IAM::Policy')).map((p) => p.Properties.PolicyDocument),
        ...Object.values(resources(t, 'AWS::IAM::Role')).flatMap((r) =>
          asArray(r.Properties.Policies).map((p: any) => p.PolicyDocument),
        ),
      ];
      for (const doc of docs) {
        for (const s of asArray<any>(doc.Statement)) {
          const actions = asArray<string>(s.Action);
          if (actions.some((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:*' || a === '*')) {
            assert.ok(!asArray(s.Resource).includes('*'), `GetSecretValue on * in ${l.name}`);
          }
        }
      }
    }
  });

  test('task roles are not execution roles', () => {
    for (const id of [channels, metrics, ingest]) {
      const role = resources(prod)[id];
      assert.equal(role.Properties.ManagedPolicyArns, undefined, `${id} has managed policies`);
      const actions = roleActions(prod, id);
      assert.ok(!actions.some((a) => a.startsWith('ecr:')), `${id}: ${actions}`);
      // Log writes only for the metrics collector, and only into the metrics log group.
      const metricsLogs = logicalId(prod, 'AWS::Logs::LogGroup', 'ServiceMetricsLogs');
      for (const st of roleStatements(prod, id).filter((st) => asArray<string>(st.Action).some((a) => a.startsWith('logs:')))) {
        for (const r of asArray(st.Resource)) assert.ok(JSON.stringify(r).includes(metricsLogs), `${id}: logs on ${JSON.stringify(r)}`);
      }
    }
    for (const td of Object.values(resources(prod, 'AWS::ECS::TaskDefinition'))) {
      assert.notDeepEqual(td.Properties.TaskRoleArn, td.Properties.ExecutionRoleArn);
    }
  });
});

describe('edge', () => {
  for (const l of layouts) {
    test(`no world ingress; the ALB admits only CloudFront (${l.name})`, () => {
      const t = synth(l.stage, l.overrides);
      const ingress = [
        ...Object.values(resources(t, 'AWS::EC2::SecurityGroup')).flatMap((g) => asArray(g.Properties.SecurityGroupIngress)),
        ...Object.values(resources(t, 'AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties),
      ];
      for (const rule of ingress as any[]) {
        assert.notEqual(rule.CidrIp, '0.0.0.0/0');
        assert.notEqual(rule.CidrIpv6, '::/0');
      }
      const albSg = logicalId(t, 'AWS::EC2::SecurityGroup', 'AlbSecurityGroup');
      const albRules = Object.values(resources(t, 'AWS::EC2::SecurityGroupIngress')).filter(
        (r) => JSON.stringify(r.Properties.GroupId).includes(albSg),
      );
      assert.equal(albRules.length, 1);
      assert.ok(albRules[0].Properties.SourcePrefixListId, 'ALB ingress must come from the CloudFront prefix list');
    });
  }

  test('listener: default 403, every forward rule requires the origin-verify header', () => {
    const t = synth('prod');
    const listener = one(t, 'AWS::ElasticLoadBalancingV2::Listener', 'Alb');
    assert.deepEqual(listener.Properties.DefaultActions, [
      { Type: 'fixed-response', FixedResponseConfig: { ContentType: 'text/plain', MessageBody: 'Forbidden', StatusCode: '403' } },
    ]);
    const rules = Object.values(resources(t, 'AWS::ElasticLoadBalancingV2::ListenerRule'));
    assert.equal(rules.length, 3);
    for (const r of rules) {
      const header = r.Properties.Conditions.find((c: any) => c.Field === 'http-header');
      assert.equal(header.HttpHeaderConfig.HttpHeaderName, ORIGIN_VERIFY_HEADER);
      assert.match(JSON.stringify(header.HttpHeaderConfig.Values), /resolve:secretsmanager/);
    }
    const paths = rules.flatMap((r) => r.Properties.Conditions.filter((c: any) => c.Field === 'path-pattern'))
      .flatMap((c: any) => c.PathPatternConfig.Values).sort();
    assert.deepEqual(paths, ['/metrics/*', '/streamEvents']);
  });

  test('target groups: /status health check, 30 s deregistration delay', () => {
    const t = synth('prod');
    for (const tg of Object.values(resources(t, 'AWS::ElasticLoadBalancingV2::TargetGroup'))) {
      assert.equal(tg.Properties.HealthCheckPath, '/status');
      assert.equal(tg.Properties.Port, 8080);
      assert.deepEqual(tg.Properties.TargetGroupAttributes, [
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
        { Key: 'stickiness.enabled', Value: 'false' },
      ]);
    }
  });

  for (const l of layouts) {
    test(`viewer HTTPS on every behaviour, upstream routing (${l.name})`, () => {
      const t = synth(l.stage, l.overrides);
      for (const d of Object.values(resources(t, 'AWS::CloudFront::Distribution'))) {
        const cfg = d.Properties.DistributionConfig;
        for (const b of [cfg.DefaultCacheBehavior, ...asArray<any>(cfg.CacheBehaviors)]) {
          assert.equal(b.ViewerProtocolPolicy, 'redirect-to-https');
        }
      }
      const api = one(t, 'AWS::CloudFront::Distribution', 'ApiDistribution').Properties.DistributionConfig;
      assert.equal(api.DefaultCacheBehavior.CachePolicyId, CACHING_DISABLED);
      assert.equal(api.DefaultCacheBehavior.OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST);
      const byPath = Object.fromEntries(api.CacheBehaviors.map((b: any) => [b.PathPattern, b]));
      assert.deepEqual(Object.keys(byPath).sort(), l.separate ? ['/channels', '/metrics/*', '/streamEvents'] : ['/channels', '/streamEvents']);
      assert.equal(byPath['/streamEvents'].CachePolicyId, CACHING_DISABLED);
      assert.equal(byPath['/streamEvents'].OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST);
      assert.deepEqual(byPath['/channels'].CachePolicyId, { Ref: logicalId(t, 'AWS::CloudFront::CachePolicy', 'ChannelsCachePolicy') });
      for (const origin of api.Origins) {
        assert.ok(origin.OriginCustomHeaders.some((h: any) => h.HeaderName === ORIGIN_VERIFY_HEADER));
      }
    });
  }

  test('/channels is cached 2 s keyed on isLive', () => {
    synth('dev').hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        DefaultTTL: 2,
        MinTTL: 0,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['isLive'] },
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
        }),
      }),
    });
  });

  test('optional HTTPS origin: 443 listener with the certificate, CloudFront https-only', () => {
    const t = synth('prod', {
      apiOriginDomainName: 'origin.example.com',
      apiOriginCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    });
    const listener = one(t, 'AWS::ElasticLoadBalancingV2::Listener', 'Alb');
    assert.equal(listener.Properties.Port, 443);
    assert.equal(listener.Properties.Protocol, 'HTTPS');
    const api = one(t, 'AWS::CloudFront::Distribution', 'ApiDistribution').Properties.DistributionConfig;
    assert.equal(api.Origins[0].CustomOriginConfig.OriginProtocolPolicy, 'https-only');
  });
});

describe('services', () => {
  for (const l of layouts) {
    test(`arm64 256/512, healthcheck, circuit breaker, autoscaling (${l.name})`, () => {
      const t = synth(l.stage, l.overrides);
      // The one-off migration task is no service (adopt.test.ts checks it).
      const serviceTasks = Object.entries(resources(t, 'AWS::ECS::TaskDefinition')).filter(([id]) => !id.startsWith('Migrate'));
      for (const [, td] of serviceTasks) {
        const p = td.Properties;
        assert.deepEqual(p.RuntimePlatform, { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
        assert.equal(p.Cpu, '256');
        assert.equal(p.Memory, '512');
        const c = p.ContainerDefinitions[0];
        assert.deepEqual(c.HealthCheck.Command, ['CMD', '/usr/local/bin/service', 'healthcheck']);
        assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
        assert.equal(c.ReadonlyRootFilesystem, true);
        const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
        assert.equal(env.TRUSTED_PROXY_HOPS, '2');
        assert.equal(env.PORT, '8080');
        assert.ok(!('PAGINATION_TOKEN_KEY' in env) && !('INGEST_SECRET' in env), 'secrets must not be literals');
      }
      for (const s of Object.values(resources(t, 'AWS::ECS::Service'))) {
        assert.deepEqual(s.Properties.DeploymentConfiguration.DeploymentCircuitBreaker, { Enable: true, Rollback: true });
        assert.equal(s.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED');
      }
      const min = 1;
      const targets = Object.values(resources(t, 'AWS::ApplicationAutoScaling::ScalableTarget'));
      assert.equal(targets.length, l.separate ? 3 : 2);
      for (const st of targets) {
        assert.equal(st.Properties.MaxCapacity, 30);
        assert.equal(st.Properties.MinCapacity, min);
      }
      for (const sp of Object.values(resources(t, 'AWS::ApplicationAutoScaling::ScalingPolicy'))) {
        const cfg = sp.Properties.TargetTrackingScalingPolicyConfiguration;
        assert.equal(cfg.TargetValue, 70);
        assert.equal(cfg.PredefinedMetricSpecification.PredefinedMetricType, 'ECSServiceAverageCPUUtilization');
      }
      for (const lg of Object.values(resources(t, 'AWS::Logs::LogGroup'))) {
        const days = lg.Properties?.RetentionInDays;
        if (l.stage === 'prod' && days === undefined) continue; // prod Lambda logs never expire (upstream)
        assert.ok(days > 0);
      }
    });
  }

  test('minScalingCapacity reaches every service', () => {
    const t = synth('prod', { minScalingCapacity: 2 });
    for (const st of Object.values(resources(t, 'AWS::ApplicationAutoScaling::ScalableTarget'))) {
      assert.equal(st.Properties.MinCapacity, 2);
    }
  });

  test('pagination and ingest secrets are injected as ECS secrets', () => {
    const t = synth('prod');
    const secretsOf = (prefix: string) =>
      Object.fromEntries(
        one(t, 'AWS::ECS::TaskDefinition', prefix).Properties.ContainerDefinitions[0].Secrets?.map((s: any) => [s.Name, s.ValueFrom]) ?? [],
      );
    assert.deepEqual(secretsOf('MetricsTask').PAGINATION_TOKEN_KEY, { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'PaginationTokenKey') });
    assert.deepEqual(secretsOf('EventIngestTask').INGEST_SECRET, { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'IngestSecret') });
    assert.equal(secretsOf('ChannelsTask').PAGINATION_TOKEN_KEY, undefined);
  });

  test('ECS log retention comes from serviceLogRetention', () => {
    const t = synth('prod');
    const groups = Object.entries(resources(t, 'AWS::Logs::LogGroup')).filter(([id]) => /^(Channels|Metrics|EventIngest)Logs/.test(id));
    assert.equal(groups.length, 3);
    for (const [, g] of groups) assert.equal(g.Properties.RetentionInDays, 365);
  });
});

describe('events', () => {
  test('IVS rule: four detail-types, this region, API destination with retries and a DLQ', () => {
    const t = synth('dev');
    const rule = one(t, 'AWS::Events::Rule', 'IvsEventsRule').Properties;
    assert.deepEqual(rule.EventPattern.source, ['aws.ivs']);
    assert.deepEqual([...rule.EventPattern['detail-type']].sort(), [...IVS_DETAIL_TYPES].sort());
    assert.equal(rule.EventPattern['detail-type'].length, 4);
    assert.deepEqual(rule.EventPattern.region, [{ Ref: 'AWS::Region' }]);
    const target = rule.Targets[0];
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [logicalId(t, 'AWS::Events::ApiDestination', 'IngestDestination'), 'Arn'] });
    assert.deepEqual(target.DeadLetterConfig.Arn, { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'IngestDlq'), 'Arn'] });
    assert.ok(target.RetryPolicy.MaximumRetryAttempts > 0);

    const dest = one(t, 'AWS::Events::ApiDestination', 'IngestDestination').Properties;
    assert.equal(dest.HttpMethod, 'POST');
    assert.match(JSON.stringify(dest.InvocationEndpoint), /ApiDistribution.*\/streamEvents/);
    const conn = one(t, 'AWS::Events::Connection', 'IngestConnection').Properties;
    assert.equal(conn.AuthorizationType, 'API_KEY');
    assert.equal(conn.AuthParameters.ApiKeyAuthParameters.ApiKeyName, INGEST_SECRET_HEADER);
    assert.match(JSON.stringify(conn.AuthParameters.ApiKeyAuthParameters.ApiKeyValue), /resolve:secretsmanager/);
  });

  test('alarms on the ingest DLQ depth and failed invocations', () => {
    const t = synth('dev');
    const alarms = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    assert.ok(alarms.some((a) => a.MetricName === 'FailedInvocations' && a.Namespace === 'AWS/Events'));
    assert.ok(
      alarms.some((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes('IngestDlq')),
    );
  });
});

describe('data and identity', () => {
  test('table keys and index names match crates/dynamo', () => {
    const t = synth('dev');
    const channels = one(t, 'AWS::DynamoDB::Table', 'ChannelsTable').Properties;
    assert.deepEqual(channels.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
    const gsis = Object.fromEntries(channels.GlobalSecondaryIndexes.map((g: any) => [g.IndexName, g]));
    assert.deepEqual(Object.keys(gsis).sort(), [
      'channelArnIndex',
      'channelAssetIdIndex',
      'directoryIndex',
      'emailIndex',
      'usernameIndex',
    ]);
    assert.deepEqual(gsis.channelAssetIdIndex.Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['channelAssets'] });
    assert.deepEqual(gsis.directoryIndex.KeySchema, [
      { AttributeName: 'isLive', KeyType: 'HASH' },
      { AttributeName: 'liveStartTime', KeyType: 'RANGE' },
    ]);
    // The same projection as crates/dynamo/src/directory.rs DIRECTORY_PROJECTION.
    assert.deepEqual(gsis.directoryIndex.Projection, {
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: ['username', 'avatar', 'color', 'channelAssets', 'channelArn', 'liveChannelArn', 'liveStreamId'],
    });

    const streams = one(t, 'AWS::DynamoDB::Table', 'StreamsTable').Properties;
    assert.deepEqual(streams.KeySchema, [
      { AttributeName: 'channelArn', KeyType: 'HASH' },
      { AttributeName: 'id', KeyType: 'RANGE' },
    ]);
    assert.deepEqual(streams.LocalSecondaryIndexes.map((i: any) => i.IndexName), ['startTimeIndex']);
    const sg = Object.fromEntries(streams.GlobalSecondaryIndexes.map((g: any) => [g.IndexName, g]));
    assert.deepEqual(Object.keys(sg).sort(), ['isOpenIndex', 'liveIndex']);
    assert.deepEqual(sg.liveIndex.KeySchema, [
      { AttributeName: 'isLive', KeyType: 'HASH' },
      { AttributeName: 'startTime', KeyType: 'RANGE' },
    ]);
    assert.deepEqual(sg.liveIndex.Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['userSub'] });
    assert.deepEqual(sg.isOpenIndex.Projection.NonKeyAttributes, ['endTime', 'truncatedEvents', 'channelArn', 'startTime']);
  });

  test('prod: PITR, deletion protection and RETAIN; dev: neither', () => {
    for (const [stage, retained] of [['prod', true], ['dev', false]] as const) {
      const t = synth(stage);
      for (const table of Object.values(resources(t, 'AWS::DynamoDB::Table'))) {
        assert.equal(table.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, retained);
        assert.equal(table.DeletionPolicy, retained ? 'Retain' : 'Delete');
      }
      assert.equal(one(t, 'AWS::Cognito::UserPool', 'UserPool').DeletionPolicy, retained ? 'Retain' : 'Delete');
      assert.equal(one(t, 'AWS::S3::Bucket', 'ChannelAssetsBucket').DeletionPolicy, retained ? 'Retain' : 'Delete');
    }
  });

  test('user pool and client as upstream, hardened', () => {
    const t = synth('prod');
    const pool = one(t, 'AWS::Cognito::UserPool', 'UserPool').Properties;
    assert.deepEqual(pool.AliasAttributes, ['preferred_username']);
    assert.deepEqual(pool.UsernameConfiguration, { CaseSensitive: false });
    assert.deepEqual(pool.AutoVerifiedAttributes, ['email']);
    const email = pool.Schema.find((a: any) => a.Name === 'email');
    assert.deepEqual(email, { Name: 'email', Required: true, Mutable: false });
    assert.ok(pool.LambdaConfig.PreSignUp && pool.LambdaConfig.PreAuthentication && pool.LambdaConfig.CustomMessage);
    const client = one(t, 'AWS::Cognito::UserPoolClient', 'UserPoolWebClient').Properties;
    assert.deepEqual([...client.ExplicitAuthFlows].sort(), ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH']);
    assert.equal(client.PreventUserExistenceErrors, 'ENABLED');
    assert.equal(client.AllowedOAuthFlows, undefined);
    assert.equal(client.CallbackURLs, undefined);
    assert.equal(client.GenerateSecret, false);

    const dev = one(synth('dev'), 'AWS::Cognito::UserPool', 'UserPool').Properties;
    assert.ok(dev.LambdaConfig.PreSignUp, 'PreSignUp runs in every stage');
    assert.deepEqual(dev.AutoVerifiedAttributes ?? [], []);
  });

  test('PreSignUp gets the allowed domains and the auto-verify switch', () => {
    const t = synth('dev', { signUpAllowedDomains: ['example.com'] });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SIGN_UP_ALLOWED_DOMAINS: '["example.com"]', ENABLE_USER_AUTO_VERIFY: 'true' }),
      },
    });
  });

  test('cleanup Lambda has CHANNELS_TABLE_NAME and USER_POOL_ID and runs on the schedule', () => {
    const t = synth('dev');
    const fn = one(t, 'AWS::Lambda::Function', 'CleanupUnverifiedUsers').Properties;
    assert.deepEqual(fn.Environment.Variables.CHANNELS_TABLE_NAME, { Ref: logicalId(t, 'AWS::DynamoDB::Table', 'ChannelsTable') });
    assert.deepEqual(fn.Environment.Variables.USER_POOL_ID, { Ref: logicalId(t, 'AWS::Cognito::UserPool', 'UserPool') });
    assert.equal(one(t, 'AWS::Events::Rule', 'CleanupSchedule').Properties.ScheduleExpression, 'rate(48 hours)');
    const custom = synth('dev', {}, { scheduleExpression: 'rate(1 day)' });
    assert.equal(one(custom, 'AWS::Events::Rule', 'CleanupSchedule').Properties.ScheduleExpression, 'rate(1 day)');
  });

  test('Rust Lambdas: provided.al2023 on arm64; no deprecated runtime anywhere', () => {
    const t = synth('prod');
    const fns = Object.entries(resources(t, 'AWS::Lambda::Function'));
    const rust = fns.filter(([, f]) => f.Properties.Runtime === 'provided.al2023');
    assert.equal(rust.length, 6);
    for (const [, f] of rust) assert.deepEqual(f.Properties.Architectures, ['arm64']);
    for (const [id, f] of fns) {
      assert.doesNotMatch(String(f.Properties.Runtime), /^(nodejs(1[0-8]|[0-9])\.x|python3\.[0-9]|python2|go1\.x|provided)$/, id);
    }
  });

  test('asset pipeline: versioned private bucket, TLS only, queue -> updater with batch failures, 14-day DLQ', () => {
    const t = synth('dev');
    const bucket = one(t, 'AWS::S3::Bucket', 'ChannelAssetsBucket').Properties;
    assert.equal(bucket.VersioningConfiguration.Status, 'Enabled');
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(bucket.OwnershipControls.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    assert.deepEqual(bucket.CorsConfiguration.CorsRules[0].ExposedHeaders, ['Location', 'x-amz-version-id', 'Date']);
    assert.match(JSON.stringify(one(t, 'AWS::S3::BucketPolicy', 'ChannelAssetsBucketPolicy').Properties), /aws:SecureTransport/);
    const mappings = Object.values(resources(t, 'AWS::Lambda::EventSourceMapping')).map((m) => m.Properties);
    assert.equal(mappings.length, 2);
    for (const m of mappings) {
      assert.equal(m.BatchSize, 10);
      assert.deepEqual(m.FunctionResponseTypes, ['ReportBatchItemFailures']);
    }
    assert.equal(one(t, 'AWS::SQS::Queue', 'AssetVersionDlq').Properties.MessageRetentionPeriod, 14 * 24 * 3600);
    const assets = one(t, 'AWS::CloudFront::Distribution', 'ChannelAssetsDistribution').Properties.DistributionConfig;
    assert.deepEqual(assets.CacheBehaviors.map((b: any) => b.PathPattern).sort(), ['/*/avatar', '/*/banner']);
    t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
  });

  test('nothing secret in outputs; the SPA output names are there', () => {
    for (const l of layouts) {
      const t = synth(l.stage, l.overrides);
      const outputs = t.toJSON().Outputs as Record<string, any>;
      for (const name of ['apiBaseUrl', 'channelType', 'userPoolClientId', 'userPoolId', 'region', 'stage', 'enableAmazonProductStreamAction']) {
        assert.ok(name in outputs, `missing output ${name}`);
      }
      const secretIds = Object.keys(resources(t, 'AWS::SecretsManager::Secret'));
      for (const [name, o] of Object.entries(outputs)) {
        const text = JSON.stringify(o.Value);
        assert.doesNotMatch(text, /resolve:secretsmanager|SecretString/, name);
        for (const id of secretIds) {
          if (name !== 'productApiSecretName') assert.ok(!text.includes(id), `${name} references ${id}`);
        }
      }
      assert.ok(!('containerEnvStr' in outputs));
    }
  });

  test('secrets are generated, the product secret has no value in the template', () => {
    const t = synth('prod');
    for (const s of Object.values(resources(t, 'AWS::SecretsManager::Secret'))) {
      assert.equal(s.Properties.SecretString, undefined);
    }
  });
});

describe('SPA hosting (PUBLISH)', () => {
  test('hosts a built SPA and adds its URL to the allowed origins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-spa-'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    const t = synth('prod', {}, { publishDir: dir });
    t.resourceCountIs('Custom::CDKBucketDeployment', 1);
    const fe = one(t, 'AWS::CloudFront::Distribution', 'FrontendDistribution').Properties.DistributionConfig;
    assert.equal(fe.DefaultRootObject, 'index.html');
    assert.equal(fe.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    const env = one(t, 'AWS::ECS::TaskDefinition', 'ChannelsTask').Properties.ContainerDefinitions[0].Environment;
    const origins = env.find((e: any) => e.Name === 'ALLOWED_ORIGINS').Value;
    assert.match(JSON.stringify(origins), /FrontendDistribution/);
    assert.ok('frontendAppBaseUrl' in (t.toJSON().Outputs as object));
  });

  test('refuses a directory without index.html (upstream would empty the bucket)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ugc-empty-'));
    assert.throws(() => synth('dev', {}, { publishDir: dir }), /no index\.html/);
  });
});
