// The whole backend in one stack `UGC-<stage>`: network, the Rust services behind one ALB that only
// CloudFront can reach, the IVS event path, data, identity, channel assets, and optional SPA hosting.
import * as fs from 'fs';
import * as path from 'path';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { AdoptedPoolTriggers, adoptExisting } from './adopt';
import { StageConfig } from './config';
import { MigrateTask } from './migrate-task';
import { PlatformObservability } from './observability';
import { RustFunction } from './rust-lambda';
import { RustService } from './service';

export const PROJECT_TAG = 'ugc';
export const INGEST_SECRET_HEADER = 'x-ugc-ingest-secret';
/** Header CloudFront adds to every origin request; the ALB forwards nothing without it. */
export const ORIGIN_VERIFY_HEADER = 'x-ugc-origin-verify';
/** CloudFront + ALB in front of every service. */
export const TRUSTED_PROXY_HOPS = 2;
export const IVS_DETAIL_TYPES = [
  'IVS Stream State Change',
  'IVS Stream Health Change',
  'IVS Limit Breach',
  'IVS Recording State Change',
];

export const INDEX = {
  email: 'emailIndex',
  username: 'usernameIndex',
  channelArn: 'channelArnIndex',
  channelAssetId: 'channelAssetIdIndex',
  startTime: 'startTimeIndex',
  isOpen: 'isOpenIndex',
  live: 'liveIndex',
  directory: 'directoryIndex',
} as const;

/** The directory mirror on profile items (crates/dynamo/src/directory.rs). */
export const DIRECTORY_MIRROR = {
  attributes: ['isLive', 'liveStartTime', 'liveStreamId', 'liveVersion', 'liveChannelArn'],
  projection: ['username', 'avatar', 'color', 'channelAssets', 'channelArn', 'liveChannelArn', 'liveStreamId'],
} as const;

export interface UgcStackProps extends StackProps {
  config: StageConfig;
  /** Cleanup schedule expression (Makefile SCHEDULE); defaults to the stage's `cleanupSchedule`. */
  scheduleExpression?: string;
  /** A built SPA directory to host on S3 + CloudFront (Makefile PUBLISH). */
  publishDir?: string;
}

export class UgcStack extends Stack {
  constructor(scope: Construct, id: string, props: UgcStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const dataRemoval = cfg.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRemoval = cfg.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // An upstream deployment's tables, user pool, bucket and secret, when the stage names them.
    const adopted = adoptExisting(this, cfg);

    // ---------------------------------------------------------------- SPA hosting (PUBLISH=<dir>)
    let allowedOrigins = [...cfg.allowedOrigins];
    let clientBaseUrl = cfg.clientBaseUrl;
    let frontend: { bucket: s3.Bucket; distribution: cloudfront.Distribution } | undefined;
    if (props.publishDir !== undefined) {
      frontend = this.frontendHosting(props.publishDir, dataRemoval);
      const url = `https://${frontend.distribution.distributionDomainName}`;
      if (!allowedOrigins.includes('*')) allowedOrigins = [...allowedOrigins, url];
      if (clientBaseUrl === '' || clientBaseUrl === 'http://localhost:3000') clientBaseUrl = url;
    }

    // ---------------------------------------------------------------- secrets (generated, never in outputs)
    const paginationSecret = new secretsmanager.Secret(this, 'PaginationTokenKey', {
      description: 'Key that encrypts the metrics pagination tokens (PAGINATION_TOKEN_KEY)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
    });
    const ingestSecret = new secretsmanager.Secret(this, 'IngestSecret', {
      description: `Shared secret EventBridge sends in ${INGEST_SECRET_HEADER} to event-ingest`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    const originVerifySecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      description: `Value of ${ORIGIN_VERIFY_HEADER} that CloudFront adds and the ALB requires`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    // Creators API credentials: the template holds no value (Secrets Manager puts a random placeholder
    // in); the operator stores {"credentialId","credentialSecret","version","partnerTag"} after deploying.
    const productSecretName = adopted.productSecretName ?? `${this.stackName}/creators-api-credentials`;
    const productSecret =
      adopted.productSecret ??
      new secretsmanager.Secret(this, 'ProductApiSecret', {
        secretName: productSecretName,
        description:
          'Amazon Creators API credentials for product search: JSON {"credentialId","credentialSecret","version","partnerTag"}; set after deploy',
      });

    // ---------------------------------------------------------------- data
    const channelsTable = adopted.channelsTable ?? createChannelsTable(this, cfg, dataRemoval);
    const streamsTable = adopted.streamsTable ?? createStreamsTable(this, cfg, dataRemoval);

    // ---------------------------------------------------------------- channel assets + CDN
    // An adopted bucket keeps its own CDN (the stored asset URLs point at it) and its own S3 -> SQS
    // notifications (S3 refuses a second, overlapping configuration).
    const assets = adopted.assetsBucket
      ? { bucket: adopted.assetsBucket, baseUrl: adopted.assetsBaseUrl ?? '' }
      : createChannelAssets(this, cfg, allowedOrigins, dataRemoval);
    const assetsBucket = assets.bucket;
    const assetsBaseUrl = assets.baseUrl;

    // ---------------------------------------------------------------- Cognito + Rust triggers
    const lambdaLogs = { logRetentionDays: cfg.logRetention, removalPolicy: logRemoval };
    // PreSignUp always runs: it enforces the allowed domains and username rules for direct SignUp calls
    // too; it auto-confirms only when enableUserAutoVerify is on.
    const preSignUp = new RustFunction(this, 'PreSignUpTrigger', {
      bin: 'pre-sign-up',
      description: 'Cognito PreSignUp: allowed domains, username rules, optional auto-confirm',
      environment: {
        SIGN_UP_ALLOWED_DOMAINS: JSON.stringify(cfg.signUpAllowedDomains),
        ENABLE_USER_AUTO_VERIFY: String(cfg.enableUserAutoVerify),
      },
      ...lambdaLogs,
    });
    const preAuthentication = new RustFunction(this, 'PreAuthenticationTrigger', {
      bin: 'pre-authentication',
      description: 'Cognito PreAuthentication: the submitted username must match',
      ...lambdaLogs,
    });
    const customMessage = new RustFunction(this, 'CustomMessageTrigger', {
      bin: 'custom-message',
      description: 'Cognito CustomMessage: verification and reset links to the SPA',
      environment: { CLIENT_BASE_URL: clientBaseUrl },
      ...lambdaLogs,
    });

    let userPool: cognito.IUserPool;
    let userPoolClient: cognito.IUserPoolClient;
    if (adopted.userPool && adopted.userPoolClient) {
      userPool = adopted.userPool;
      userPoolClient = adopted.userPoolClient;
      new AdoptedPoolTriggers(this, 'AdoptedPoolTriggers', userPool, { preSignUp, preAuthentication, customMessage });
    } else {
      const createdPool = new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: true,
        signInAliases: { username: true, preferredUsername: true },
        signInCaseSensitive: false,
        standardAttributes: { email: { required: true, mutable: false } },
        // With auto-verify on, PreSignUp confirms users and verifies the e-mail; otherwise Cognito sends a code.
        autoVerify: cfg.enableUserAutoVerify ? {} : { email: true },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        lambdaTriggers: { preSignUp, preAuthentication, customMessage },
        deletionProtection: cfg.retainData,
        removalPolicy: dataRemoval,
      });
      userPool = createdPool;
      userPoolClient = createdPool.addClient('WebClient', {
        authFlows: { userPassword: true }, // + ALLOW_REFRESH_TOKEN_AUTH, always added
        generateSecret: false,
        preventUserExistenceErrors: true,
        disableOAuth: true,
      });
    }

    // ---------------------------------------------------------------- asset versions: S3 -> SQS -> Lambda
    const assetUpdaterTimeout = Duration.seconds(10);
    const assetDlq = new sqs.Queue(this, 'AssetVersionDlq', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const assetQueue = new sqs.Queue(this, 'AssetVersionQueue', {
      visibilityTimeout: Duration.seconds(assetUpdaterTimeout.toSeconds() * 6),
      receiveMessageWaitTime: Duration.seconds(20),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: assetDlq, maxReceiveCount: 5 },
    });
    for (const suffix of adopted.assetsBucket ? [] : ['avatar', 'banner']) {
      assetsBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(assetQueue), {
        suffix,
      });
    }
    const assetUpdater = new RustFunction(this, 'AssetVersionUpdater', {
      bin: 'asset-version-updater',
      description: 'Records the newest version of an uploaded avatar or banner on the channel',
      environment: { CHANNELS_TABLE_NAME: channelsTable.tableName, CHANNEL_ASSETS_BASE_URL: assetsBaseUrl },
      timeout: assetUpdaterTimeout,
      ...lambdaLogs,
    });
    assetUpdater.addEventSource(
      new lambdaSources.SqsEventSource(assetQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    assetUpdater.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${channelsTable.tableArn}/index/${INDEX.channelAssetId}`],
      }),
    );
    assetUpdater.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [channelsTable.tableArn] }),
    );
    const assetDlqLogger = new RustFunction(this, 'AssetVersionDlqLogger', {
      bin: 'asset-version-dlq-logger',
      description: 'Logs asset-version messages that failed five times (they stay replayable for 14 days)',
      ...lambdaLogs,
      logRetentionDays: cfg.logRetention ?? 14,
    });
    assetDlqLogger.addEventSource(
      new lambdaSources.SqsEventSource(assetDlq, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // ---------------------------------------------------------------- unverified-user cleanup
    const cleanup = new RustFunction(this, 'CleanupUnverifiedUsers', {
      bin: 'cleanup-unverified-users',
      description: 'Deletes users left UNCONFIRMED for over 24 h, and their channel rows',
      environment: { CHANNELS_TABLE_NAME: channelsTable.tableName, USER_POOL_ID: userPool.userPoolId },
      timeout: Duration.minutes(10),
      memorySize: 256,
      ...lambdaLogs,
    });
    cleanup.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cognito-idp:ListUsers', 'cognito-idp:AdminDeleteUser'],
        resources: [userPool.userPoolArn],
      }),
    );
    cleanup.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
        resources: [channelsTable.tableArn],
      }),
    );
    new events.Rule(this, 'CleanupSchedule', {
      description: 'Runs the unverified-user cleanup',
      schedule: events.Schedule.expression(props.scheduleExpression ?? cfg.cleanupSchedule),
      targets: [new targets.LambdaFunction(cleanup, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    // ---------------------------------------------------------------- network + cluster
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      maxAzs: cfg.maxAzs,
      natGateways: cfg.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      // Free gateway endpoints keep DynamoDB and S3 traffic off the NAT gateways.
      gatewayEndpoints: {
        s3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc });

    // ---------------------------------------------------------------- IAM per route set
    const account = Aws.ACCOUNT_ID;
    const region = Aws.REGION;
    const ivsChannels = `arn:${Aws.PARTITION}:ivs:${region}:${account}:channel/*`;
    const ivsStreamKeys = `arn:${Aws.PARTITION}:ivs:${region}:${account}:stream-key/*`;
    const chatRooms = `arn:${Aws.PARTITION}:ivschat:${region}:${account}:room/*`;
    const requestTagged = { StringEquals: { [`aws:RequestTag/project`]: PROJECT_TAG } };
    const resourceTagged = { StringEquals: { [`aws:ResourceTag/project`]: PROJECT_TAG } };
    const tableAndIndexes = (t: dynamodb.ITable) => [t.tableArn, `${t.tableArn}/index/*`];

    const channelsStatements = [
      new iam.PolicyStatement({
        sid: 'ChannelsTable',
        // TransactWriteItems is authorised through these item actions.
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:ConditionCheckItem',
        ],
        resources: tableAndIndexes(channelsTable),
      }),
      new iam.PolicyStatement({
        sid: 'StreamsTable',
        // DeleteItem/BatchWriteItem: deleting an account removes its stream sessions (25 per batch).
        actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
        resources: tableAndIndexes(streamsTable),
      }),
      new iam.PolicyStatement({
        sid: 'UserPool',
        actions: [
          'cognito-idp:AdminUpdateUserAttributes',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminDisableUser',
          'cognito-idp:AdminUserGlobalSignOut',
          'cognito-idp:AdminGetUser',
        ],
        resources: [userPool.userPoolArn],
      }),
      new iam.PolicyStatement({
        sid: 'IvsCreateTagged',
        actions: ['ivs:CreateChannel', 'ivs:TagResource'],
        resources: [ivsChannels, ivsStreamKeys],
        conditions: requestTagged,
      }),
      new iam.PolicyStatement({
        sid: 'IvsOwnChannels',
        actions: ['ivs:DeleteChannel', 'ivs:StopStream', 'ivs:PutMetadata', 'ivs:GetStreamSession'],
        resources: [ivsChannels],
        conditions: resourceTagged,
      }),
      new iam.PolicyStatement({
        sid: 'IvsStreamKeys',
        // Stream keys are created untagged by CreateChannel, so no tag condition can apply here.
        actions: ['ivs:CreateStreamKey', 'ivs:DeleteStreamKey'],
        resources: [ivsChannels, ivsStreamKeys],
      }),
      new iam.PolicyStatement({
        sid: 'ChatCreateTagged',
        actions: ['ivschat:CreateRoom', 'ivschat:TagResource'],
        resources: [chatRooms],
        conditions: requestTagged,
      }),
      new iam.PolicyStatement({
        sid: 'ChatOwnRooms',
        actions: ['ivschat:DeleteRoom', 'ivschat:CreateChatToken', 'ivschat:DisconnectUser', 'ivschat:SendEvent'],
        resources: [chatRooms],
        conditions: resourceTagged,
      }),
      new iam.PolicyStatement({
        sid: 'AssetsBucket',
        actions: ['s3:PutObject', 's3:DeleteObject'],
        resources: [assetsBucket.arnForObjects('*')],
      }),
      new iam.PolicyStatement({ sid: 'AssetsList', actions: ['s3:ListBucket'], resources: [assetsBucket.bucketArn] }),
      new iam.PolicyStatement({
        sid: 'ProductApiSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [productSecret.secretArn],
      }),
    ];
    const metricsStatements = [
      new iam.PolicyStatement({
        sid: 'MetricsStreamsTable',
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        resources: tableAndIndexes(streamsTable),
      }),
      new iam.PolicyStatement({
        sid: 'MetricsCloudWatch',
        // GetMetricData supports no resource-level permissions: "*" is the only valid resource.
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'MetricsIvsSessions',
        actions: ['ivs:GetStreamSession'],
        resources: [ivsChannels],
        conditions: resourceTagged,
      }),
    ];
    const ingestStatements = [
      new iam.PolicyStatement({
        sid: 'IngestStreamsTable',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DeleteItem'],
        resources: tableAndIndexes(streamsTable),
      }),
      new iam.PolicyStatement({
        sid: 'ChannelOwner',
        actions: ['dynamodb:Query'],
        resources: [`${channelsTable.tableArn}/index/${INDEX.channelArn}`],
      }),
      // The directory mirror: session writes copy the head's liveness onto the owner's profile, the
      // reconciler reads the index to repair it. Writes may touch only the mirror's attributes (and
      // read `channelArn` in their condition), never the rest of a profile.
      new iam.PolicyStatement({
        sid: 'DirectoryMirrorWrite',
        actions: ['dynamodb:UpdateItem', 'dynamodb:PutItem'],
        resources: [channelsTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': ['id', 'channelArn', ...DIRECTORY_MIRROR.attributes],
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'DirectoryMirrorRead',
        actions: ['dynamodb:Query'],
        resources: [`${channelsTable.tableArn}/index/${INDEX.directory}`],
      }),
      new iam.PolicyStatement({
        sid: 'IvsStreams',
        // ListStreams supports no resource-level permissions.
        actions: ['ivs:ListStreams'],
        resources: ['*'],
      }),
    ];

    // ---------------------------------------------------------------- services
    const baseEnv: Record<string, string> = {
      ACCOUNT_ID: account,
      REGION: region,
      ALLOWED_ORIGINS: this.toJsonString(allowedOrigins),
      USER_POOL_ID: userPool.userPoolId,
      USER_POOL_CLIENT_ID: userPoolClient.userPoolClientId,
      PRODUCT_API_LOCALE: cfg.productApiLocale,
      PRODUCT_LINK_REGION_CODE: cfg.productLinkRegionCode,
      ENABLE_AMAZON_PRODUCT_STREAM_ACTION: String(cfg.enableAmazonProductStreamAction),
      PRODUCT_API_SECRET_NAME: productSecretName,
      TRUSTED_PROXY_HOPS: String(TRUSTED_PROXY_HOPS),
      ...(cfg.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: cfg.otlpEndpoint } : {}),
    };
    const channelsEnv = {
      CHANNELS_TABLE_NAME: channelsTable.tableName,
      STREAM_TABLE_NAME: streamsTable.tableName,
      CHANNEL_ASSETS_BUCKET_NAME: assetsBucket.bucketName,
      CHANNEL_ASSETS_BASE_URL: assetsBaseUrl,
      IVS_CHANNEL_TYPE: cfg.ivsChannelType,
      IVS_ADVANCED_CHANNEL_TRANSCODE_PRESET: cfg.ivsAdvancedChannelTranscodePreset,
      PROJECT_TAG,
      SIGN_UP_ALLOWED_DOMAINS: JSON.stringify(cfg.signUpAllowedDomains),
    };
    const metricsEnv = { IVS_CHANNEL_TYPE: cfg.ivsChannelType, STREAM_TABLE_NAME: streamsTable.tableName };
    const paginationSecrets = { PAGINATION_TOKEN_KEY: ecs.Secret.fromSecretsManager(paginationSecret) };
    // Service metrics: OTLP -> ADOT sidecar -> EMF records in this log group -> CloudWatch metrics in
    // this namespace (see observability.ts); a stage with its own OTLP collector gets no sidecar.
    const metricsNamespace = `UGC/${this.stackName}`;
    const metricsLogGroup = new logs.LogGroup(this, 'ServiceMetricsLogs', {
      retention: cfg.serviceLogRetention,
      removalPolicy: logRemoval,
    });
    const serviceCommon = {
      cluster,
      minCapacity: cfg.minScalingCapacity,
      logRetentionDays: cfg.serviceLogRetention,
      removalPolicy: logRemoval,
      collector: cfg.otlpEndpoint ? undefined : { namespace: metricsNamespace, logGroup: metricsLogGroup },
    };

    let defaultService: RustService;
    let metricsService: RustService | undefined;
    if (cfg.deploySeparateContainers) {
      defaultService = new RustService(this, 'Channels', {
        ...serviceCommon,
        packageName: 'ugc-channels',
        bin: 'channels',
        environment: { ...baseEnv, ...channelsEnv, SERVICE_NAME: 'channels' },
        statements: channelsStatements,
      });
      metricsService = new RustService(this, 'Metrics', {
        ...serviceCommon,
        packageName: 'ugc-metrics',
        bin: 'metrics',
        environment: { ...baseEnv, ...metricsEnv, SERVICE_NAME: 'metrics' },
        secrets: paginationSecrets,
        statements: metricsStatements,
      });
    } else {
      defaultService = new RustService(this, 'Api', {
        ...serviceCommon,
        packageName: 'ugc-api',
        bin: 'api',
        environment: { ...baseEnv, ...channelsEnv, ...metricsEnv, SERVICE_NAME: 'all' },
        secrets: paginationSecrets,
        statements: [...channelsStatements, ...metricsStatements],
      });
    }
    const ingestService = new RustService(this, 'EventIngest', {
      ...serviceCommon,
      packageName: 'ugc-event-ingest',
      bin: 'event-ingest',
      environment: {
        ...baseEnv,
        STREAM_TABLE_NAME: streamsTable.tableName,
        CHANNELS_TABLE_NAME: channelsTable.tableName,
        INGEST_SECRET_HEADER,
        SERVICE_NAME: 'event-ingest',
      },
      secrets: { INGEST_SECRET: ecs.Secret.fromSecretsManager(ingestSecret) },
      statements: ingestStatements,
    });

    // One-off task: `ugc-admin migrate` brings adopted (upstream-shaped) tables to what the services read.
    const migrate = new MigrateTask(this, 'Migrate', {
      channelsTable,
      streamsTable,
      logRetentionDays: cfg.serviceLogRetention,
      removalPolicy: logRemoval,
    });

    // ---------------------------------------------------------------- ALB: CloudFront only
    const albSg = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc,
      description: 'API load balancer: CloudFront origin-facing addresses only',
      allowAllOutbound: false,
    });
    // The managed prefix list id differs per region; look it up at deploy time.
    const prefixList = new cr.AwsCustomResource(this, 'CloudFrontOriginFacingPrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describeManagedPrefixLists',
        parameters: {
          Filters: [{ Name: 'prefix-list-name', Values: ['com.amazonaws.global.cloudfront.origin-facing'] }],
        },
        physicalResourceId: cr.PhysicalResourceId.of('cloudfront-origin-facing'),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        // DescribeManagedPrefixLists supports no resource-level permissions.
        new iam.PolicyStatement({ actions: ['ec2:DescribeManagedPrefixLists'], resources: ['*'] }),
      ]),
      installLatestAwsSdk: false,
    });
    const cloudFrontPeer = ec2.Peer.prefixList(prefixList.getResponseField('PrefixLists.0.PrefixListId'));

    const alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      securityGroup: albSg,
      dropInvalidHeaderFields: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    const httpsOrigin = cfg.apiOriginDomainName !== '';
    const listener = httpsOrigin
      ? alb.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [elbv2.ListenerCertificate.fromArn(cfg.apiOriginCertificateArn)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: false,
          defaultAction: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' }),
        })
      : alb.addListener('Http', {
          port: 80,
          open: false,
          defaultAction: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' }),
        });
    albSg.addIngressRule(cloudFrontPeer, ec2.Port.tcp(httpsOrigin ? 443 : 80), 'CloudFront origin-facing');

    const originVerify = originVerifySecret.secretValue.unsafeUnwrap(); // a {{resolve:secretsmanager}} reference
    const fromCloudFront = elbv2.ListenerCondition.httpHeader(ORIGIN_VERIFY_HEADER, [originVerify]);
    listener.addTargetGroups('EventIngest', {
      priority: 10,
      conditions: [fromCloudFront, elbv2.ListenerCondition.pathPatterns(['/streamEvents'])],
      targetGroups: [ingestService.targetGroup],
    });
    if (metricsService) {
      listener.addTargetGroups('Metrics', {
        priority: 20,
        conditions: [fromCloudFront, elbv2.ListenerCondition.pathPatterns(['/metrics/*'])],
        targetGroups: [metricsService.targetGroup],
      });
    }
    listener.addTargetGroups('Default', {
      priority: 100,
      conditions: [fromCloudFront],
      targetGroups: [defaultService.targetGroup],
    });

    // ---------------------------------------------------------------- API distribution
    const apiOrigin = httpsOrigin
      ? new origins.HttpOrigin(cfg.apiOriginDomainName, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          customHeaders: { [ORIGIN_VERIFY_HEADER]: originVerify },
        })
      : new origins.LoadBalancerV2Origin(alb, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
          customHeaders: { [ORIGIN_VERIFY_HEADER]: originVerify },
        });
    const uncached: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      compress: true,
    };
    const directoryCachePolicy = new cloudfront.CachePolicy(this, 'ChannelsCachePolicy', {
      comment: 'Public directory GET /channels: 2 s, keyed on isLive (and Origin, for CORS)',
      defaultTtl: Duration.seconds(2),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.allowList('isLive'),
      // Origin is in the key so one origin's CORS answer is never served to another.
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Origin'),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const apiBehaviors: Record<string, cloudfront.BehaviorOptions> = {
      '/channels': { ...uncached, cachePolicy: directoryCachePolicy },
      '/streamEvents': { ...uncached, responseHeadersPolicy: undefined },
    };
    if (metricsService) apiBehaviors['/metrics/*'] = uncached;
    const apiDistribution = new cloudfront.Distribution(this, 'ApiDistribution', {
      comment: `UGC ${cfg.stageName} API`,
      defaultBehavior: uncached,
      additionalBehaviors: apiBehaviors,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    const apiBaseUrl = `https://${apiDistribution.distributionDomainName}`;

    // ---------------------------------------------------------------- IVS events -> event-ingest
    const connection = new events.Connection(this, 'IngestConnection', {
      description: 'event-ingest API key',
      authorization: events.Authorization.apiKey(INGEST_SECRET_HEADER, ingestSecret.secretValue),
    });
    const destination = new events.ApiDestination(this, 'IngestDestination', {
      description: 'event-ingest POST /streamEvents through CloudFront',
      connection,
      endpoint: `${apiBaseUrl}/streamEvents`,
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: 50,
    });
    const ingestDlq = new sqs.Queue(this, 'IngestDlq', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const ivsRule = new events.Rule(this, 'IvsEventsRule', {
      description: 'IVS stream, health, limit and recording events of this region -> event-ingest',
      eventPattern: { source: ['aws.ivs'], detailType: IVS_DETAIL_TYPES, region: [region] },
      targets: [
        new targets.ApiDestination(destination, {
          retryAttempts: 20,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: ingestDlq,
        }),
      ],
    });
    new cloudwatch.Alarm(this, 'IngestDlqAlarm', {
      alarmDescription: 'IVS events that could not be delivered to event-ingest are waiting in the DLQ',
      metric: ingestDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'IngestFailedInvocationsAlarm', {
      alarmDescription: 'EventBridge failed to deliver IVS events to event-ingest',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensionsMap: { RuleName: ivsRule.ruleName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'AssetDlqAlarm', {
      alarmDescription: 'Asset-version messages failed five times (replay from the DLQ within 14 days)',
      metric: assetDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // ---------------------------------------------------------------- dashboard and alarms
    const observed = [
      ...(metricsService
        ? [
            { label: 'channels', service: defaultService.service, targetGroup: defaultService.targetGroup },
            { label: 'metrics', service: metricsService.service, targetGroup: metricsService.targetGroup },
          ]
        : [{ label: 'api', service: defaultService.service, targetGroup: defaultService.targetGroup }]),
      { label: 'event-ingest', service: ingestService.service, targetGroup: ingestService.targetGroup },
    ];
    new PlatformObservability(this, 'Observability', {
      namespace: metricsNamespace,
      alb,
      cluster,
      services: observed,
      tables: [channelsTable, streamsTable],
      ivsRule,
      queues: [
        { name: 'IVS events DLQ', queue: ingestDlq },
        { name: 'asset-version DLQ', queue: assetDlq },
      ],
      functions: [preSignUp, preAuthentication, customMessage, assetUpdater, assetDlqLogger, cleanup],
    });

    // ---------------------------------------------------------------- outputs (names the SPA's .env uses; nothing secret)
    new CfnOutput(this, 'apiBaseUrl', { value: apiBaseUrl });
    new CfnOutput(this, 'userPoolId', { value: userPool.userPoolId });
    new CfnOutput(this, 'userPoolClientId', { value: userPoolClient.userPoolClientId });
    new CfnOutput(this, 'region', { value: region });
    new CfnOutput(this, 'stage', { value: cfg.stageName });
    new CfnOutput(this, 'channelType', { value: cfg.ivsChannelType });
    new CfnOutput(this, 'enableAmazonProductStreamAction', { value: String(cfg.enableAmazonProductStreamAction) });
    new CfnOutput(this, 'channelAssetsBaseUrl', { value: assetsBaseUrl });
    new CfnOutput(this, 'productApiSecretName', {
      value: productSecretName,
      description: 'Store the Creators API credentials in this secret (name only; no value is output)',
    });
    new CfnOutput(this, 'albDnsName', {
      value: alb.loadBalancerDnsName,
      description: 'Answers 403 unless the request came through CloudFront',
    });
    new CfnOutput(this, 'migrateTaskDefinitionArn', {
      value: migrate.taskDefinition.taskDefinitionArn,
      description: 'aws ecs run-task --launch-type FARGATE with migrateCluster and migrateSubnets (README)',
    });
    new CfnOutput(this, 'migrateCluster', { value: cluster.clusterName });
    new CfnOutput(this, 'migrateLogGroup', { value: migrate.logGroup.logGroupName });
    new CfnOutput(this, 'migrateSubnets', {
      value: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(','),
    });
    if (frontend) {
      new CfnOutput(this, 'frontendAppBaseUrl', { value: `https://${frontend.distribution.distributionDomainName}` });
      new CfnOutput(this, 'frontendBucketName', { value: frontend.bucket.bucketName });
    }
  }

  private frontendHosting(dir: string, removal: RemovalPolicy) {
    if (!fs.existsSync(path.join(dir, 'index.html'))) {
      // Upstream deployed an empty source with prune on, which emptied the bucket.
      throw new Error(`PUBLISH=${dir}: no index.html there; build the SPA first (npm run build)`);
    }
    const bucket = new s3.Bucket(this, 'FrontendBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: removal,
      autoDeleteObjects: removal === RemovalPolicy.DESTROY,
    });
    const distribution = new cloudfront.Distribution(this, 'FrontendDistribution', {
      comment: 'UGC web app',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      // SPA routes: S3 answers 403 for keys it does not have.
      errorResponses: [
        { httpStatus: 403, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(0) },
        { httpStatus: 404, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(0) },
      ],
    });
    new s3deploy.BucketDeployment(this, 'FrontendDeployment', {
      sources: [s3deploy.Source.asset(dir)],
      destinationBucket: bucket,
      distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 512,
    });
    return { bucket, distribution };
  }
}

// ---------------------------------------------------------------- created resources (when not adopted)
// Same construct ids under the stack as before, so the logical ids of existing stacks do not change.

function createChannelsTable(scope: Construct, cfg: StageConfig, dataRemoval: RemovalPolicy): dynamodb.Table {
  const channelsTable = new dynamodb.Table(scope, 'ChannelsTable', {
    partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: cfg.retainData },
    deletionProtection: cfg.retainData,
    removalPolicy: dataRemoval,
  });
  for (const [indexName, attr] of [
    [INDEX.email, 'email'],
    [INDEX.username, 'username'],
    [INDEX.channelArn, 'channelArn'],
  ] as const) {
    channelsTable.addGlobalSecondaryIndex({
      indexName,
      partitionKey: { name: attr, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  channelsTable.addGlobalSecondaryIndex({
    indexName: INDEX.channelAssetId,
    partitionKey: { name: 'channelAssetId', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: ['channelAssets'],
  });
  // Sparse: only profiles whose channel's head session is live carry `isLive`
  // (crates/dynamo/src/directory.rs DIRECTORY_INDEX).
  channelsTable.addGlobalSecondaryIndex({
    indexName: INDEX.directory,
    partitionKey: { name: 'isLive', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'liveStartTime', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...DIRECTORY_MIRROR.projection],
  });
  return channelsTable;
}

function createStreamsTable(scope: Construct, cfg: StageConfig, dataRemoval: RemovalPolicy): dynamodb.Table {
  const streamsTable = new dynamodb.Table(scope, 'StreamsTable', {
    partitionKey: { name: 'channelArn', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: cfg.retainData },
    deletionProtection: cfg.retainData,
    removalPolicy: dataRemoval,
  });
  streamsTable.addLocalSecondaryIndex({
    indexName: INDEX.startTime,
    sortKey: { name: 'startTime', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  streamsTable.addGlobalSecondaryIndex({
    indexName: INDEX.isOpen,
    partitionKey: { name: 'channelArn', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'isOpen', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: ['endTime', 'truncatedEvents', 'channelArn', 'startTime'],
  });
  // Sparse: only live sessions carry `isLive` (crates/dynamo/src/tables.rs LIVE_INDEX).
  streamsTable.addGlobalSecondaryIndex({
    indexName: INDEX.live,
    partitionKey: { name: 'isLive', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'startTime', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: ['userSub'],
  });
  return streamsTable;
}

function createChannelAssets(
  scope: Construct,
  cfg: StageConfig,
  allowedOrigins: string[],
  dataRemoval: RemovalPolicy,
): { bucket: s3.IBucket; baseUrl: string } {
  const assetsBucket = new s3.Bucket(scope, 'ChannelAssetsBucket', {
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    cors: [
      {
        allowedOrigins,
        allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.POST],
        allowedHeaders: ['*'],
        exposedHeaders: ['Location', 'x-amz-version-id', 'Date'],
      },
    ],
    lifecycleRules: [{ expiredObjectDeleteMarker: true, noncurrentVersionExpiration: Duration.days(1) }],
    removalPolicy: dataRemoval,
    autoDeleteObjects: !cfg.retainData,
  });
  const versionIdCachePolicy = new cloudfront.CachePolicy(scope, 'AssetVersionCachePolicy', {
    comment: 'Channel assets: cache key is the versionId query string only',
    defaultTtl: Duration.days(1),
    minTtl: Duration.seconds(0),
    maxTtl: Duration.days(365),
    queryStringBehavior: cloudfront.CacheQueryStringBehavior.allowList('versionId'),
    headerBehavior: cloudfront.CacheHeaderBehavior.none(),
    cookieBehavior: cloudfront.CacheCookieBehavior.none(),
  });
  const assetsOrigin = origins.S3BucketOrigin.withOriginAccessControl(assetsBucket);
  const assetBehavior: cloudfront.BehaviorOptions = {
    origin: assetsOrigin,
    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
    cachePolicy: versionIdCachePolicy,
    originRequestPolicy: cloudfront.OriginRequestPolicy.CORS_S3_ORIGIN,
    responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.CORS_ALLOW_ALL_ORIGINS,
  };
  const assetsDistribution = new cloudfront.Distribution(scope, 'ChannelAssetsDistribution', {
    comment: `UGC ${cfg.stageName} channel assets`,
    defaultBehavior: { ...assetBehavior, cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED },
    additionalBehaviors: { '/*/avatar': assetBehavior, '/*/banner': assetBehavior },
  });
  const assetsBaseUrl = `https://${assetsDistribution.distributionDomainName}`;
  return { bucket: assetsBucket, baseUrl: assetsBaseUrl };
}
