// Adopting an upstream deployment: the stage's `existing*` keys name resources that already hold the
// users and their data; the stack imports them instead of creating new ones (see README "Adopting an
// upstream deployment"). Imported resources are never modified by CloudFormation and never deleted
// with this stack.
//
// CDK cannot attach Lambda triggers to an imported user pool (`UserPool.fromUserPoolId` has no
// `addTrigger`), and Cognito's UpdateUserPool resets every setting it is not given. So a custom
// resource reads the pool (DescribeUserPool), merges our three triggers into its LambdaConfig and
// writes the whole configuration back; on delete it removes only the triggers that still point at our
// functions. A pool with an SMS role additionally needs iam:PassRole on that role (not granted here).
import { CustomResource, Duration } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { StageConfig } from './config';

export interface Adopted {
  channelsTable?: dynamodb.ITable;
  streamsTable?: dynamodb.ITable;
  userPool?: cognito.IUserPool;
  userPoolClient?: cognito.IUserPoolClient;
  assetsBucket?: s3.IBucket;
  assetsBaseUrl?: string;
  productSecret?: secretsmanager.ISecret;
  productSecretName?: string;
}

/** Imports whatever the configuration names. Validation of the keys is in config.ts. */
export function adoptExisting(scope: Construct, cfg: StageConfig): Adopted {
  const adopted: Adopted = {};
  if (cfg.existingChannelsTableName !== '') {
    adopted.channelsTable = dynamodb.Table.fromTableName(scope, 'AdoptedChannelsTable', cfg.existingChannelsTableName);
    adopted.streamsTable = dynamodb.Table.fromTableName(scope, 'AdoptedStreamsTable', cfg.existingStreamsTableName);
  }
  if (cfg.existingUserPoolId !== '') {
    adopted.userPool = cognito.UserPool.fromUserPoolId(scope, 'AdoptedUserPool', cfg.existingUserPoolId);
    adopted.userPoolClient = cognito.UserPoolClient.fromUserPoolClientId(
      scope,
      'AdoptedUserPoolClient',
      cfg.existingUserPoolClientId,
    );
  }
  if (cfg.existingChannelAssetsBucketName !== '') {
    adopted.assetsBucket = s3.Bucket.fromBucketName(scope, 'AdoptedChannelAssetsBucket', cfg.existingChannelAssetsBucketName);
    adopted.assetsBaseUrl = cfg.existingChannelAssetsBaseUrl;
  }
  if (cfg.existingProductApiSecret !== '') {
    const ref = cfg.existingProductApiSecret;
    adopted.productSecret = ref.startsWith('arn:')
      ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'AdoptedProductApiSecret', ref)
      : secretsmanager.Secret.fromSecretNameV2(scope, 'AdoptedProductApiSecret', ref);
    adopted.productSecretName = ref;
  }
  return adopted;
}

// Node.js 22 runtime code (AWS SDK v3 is part of the runtime).
const ATTACH_TRIGGERS_CODE = `
const { CognitoIdentityProviderClient, DescribeUserPoolCommand, UpdateUserPoolCommand } = require('@aws-sdk/client-cognito-identity-provider');
const client = new CognitoIdentityProviderClient({});
// Every setting UpdateUserPool accepts: what is left out would be reset to its default.
const KEEP = ['Policies', 'DeletionProtection', 'LambdaConfig', 'AutoVerifiedAttributes', 'SmsVerificationMessage',
  'EmailVerificationMessage', 'EmailVerificationSubject', 'VerificationMessageTemplate', 'SmsAuthenticationMessage',
  'UserAttributeUpdateSettings', 'MfaConfiguration', 'DeviceConfiguration', 'EmailConfiguration', 'SmsConfiguration',
  'UserPoolTags', 'AdminCreateUserConfig', 'UserPoolAddOns', 'AccountRecoverySetting'];
exports.handler = async (event) => {
  const { UserPoolId, Triggers } = event.ResourceProperties;
  const pool = (await client.send(new DescribeUserPoolCommand({ UserPoolId }))).UserPool;
  const input = { UserPoolId };
  for (const key of KEEP) if (pool[key] !== undefined) input[key] = pool[key];
  if (input.AdminCreateUserConfig) delete input.AdminCreateUserConfig.UnusedAccountValidityDays;
  const lambdaConfig = { ...(pool.LambdaConfig || {}) };
  if (event.RequestType === 'Delete') {
    for (const [name, arn] of Object.entries(Triggers)) if (lambdaConfig[name] === arn) delete lambdaConfig[name];
  } else {
    Object.assign(lambdaConfig, Triggers);
  }
  input.LambdaConfig = lambdaConfig;
  await client.send(new UpdateUserPoolCommand(input));
  return { PhysicalResourceId: 'ugc-triggers-' + UserPoolId };
};
`;

export interface PoolTriggers {
  preSignUp: lambda.IFunction;
  preAuthentication: lambda.IFunction;
  customMessage: lambda.IFunction;
}

/** Attaches our Cognito triggers to an imported pool (see the file comment). */
export class AdoptedPoolTriggers extends Construct {
  constructor(scope: Construct, id: string, pool: cognito.IUserPool, triggers: PoolTriggers) {
    super(scope, id);
    const onEvent = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(ATTACH_TRIGGERS_CODE),
      timeout: Duration.seconds(30),
      description: 'Merges the UGC Cognito triggers into an adopted user pool (DescribeUserPool + UpdateUserPool)',
    });
    onEvent.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cognito-idp:DescribeUserPool', 'cognito-idp:UpdateUserPool'],
        resources: [pool.userPoolArn],
      }),
    );
    for (const [name, fn] of Object.entries(triggers)) {
      fn.addPermission(`CognitoInvoke${name}`, {
        principal: new iam.ServicePrincipal('cognito-idp.amazonaws.com'),
        sourceArn: pool.userPoolArn,
      });
    }
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: onEvent });
    new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::AdoptedUserPoolTriggers',
      properties: {
        UserPoolId: pool.userPoolId,
        Triggers: {
          PreSignUp: triggers.preSignUp.functionArn,
          PreAuthentication: triggers.preAuthentication.functionArn,
          CustomMessage: triggers.customMessage.functionArn,
        },
      },
    });
  }
}

