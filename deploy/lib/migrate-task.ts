// The one-off migration task (`ugc-admin migrate`, services/admin): a Fargate task definition with its
// own image and a role that holds the permissions no request-serving task has (UpdateTable, scans,
// ListStreams). It is never a service; the operator runs it (README "Adopting an upstream deployment"):
//   aws ecs run-task --cluster <MigrateCluster> --task-definition <MigrateTaskDefinition> --launch-type FARGATE \
//     --network-configuration 'awsvpcConfiguration={subnets=[<MigrateSubnets>],assignPublicIp=DISABLED}' \
//     [--overrides '{"containerOverrides":[{"name":"ugc-admin","command":["migrate","--dry-run"]}]}']
import * as path from 'path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REPO_ROOT } from './rust-lambda';

export const MIGRATE_CONTAINER = 'ugc-admin';

export interface MigrateTaskProps {
  channelsTable: dynamodb.ITable;
  streamsTable: dynamodb.ITable;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
  /** Capacity units per second the migration may consume (its --max-capacity). */
  maxCapacity?: number;
}

export class MigrateTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MigrateTaskProps) {
    super(scope, id);
    const tables = [props.channelsTable, props.streamsTable];
    const taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'ugc-admin migrate: backfills liveIndex, isLive, channel heads and username markers',
      inlinePolicies: {
        migrate: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'MigrateTables',
              actions: [
                'dynamodb:DescribeTable',
                'dynamodb:UpdateTable',
                'dynamodb:Scan',
                'dynamodb:Query',
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:UpdateItem',
              ],
              resources: tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]),
            }),
            new iam.PolicyStatement({
              sid: 'IvsLiveChannels',
              // ListStreams supports no resource-level permissions.
              actions: ['ivs:ListStreams'],
              resources: ['*'],
            }),
          ],
        }),
      },
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole,
    });
    const logGroup = (this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
    }));
    this.taskDefinition.addContainer('app', {
      containerName: MIGRATE_CONTAINER,
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: path.join('deploy', 'docker', 'Dockerfile'),
        buildArgs: { PACKAGE: 'ugc-admin', BIN: 'ugc-admin' },
        platform: Platform.LINUX_ARM64,
      }),
      command: ['migrate', '--max-capacity', String(props.maxCapacity ?? 100)],
      environment: {
        CHANNELS_TABLE_NAME: props.channelsTable.tableName,
        STREAM_TABLE_NAME: props.streamsTable.tableName,
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'migrate', logGroup }),
      readonlyRootFilesystem: true,
    });
  }
}
