// One Rust HTTP service on Fargate (arm64, 256/512), behind a target group of the shared ALB.
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { addCollector, CollectorTarget, OTLP_HTTP_ENDPOINT } from './observability';
import { REPO_ROOT } from './rust-lambda';

export const CONTAINER_PORT = 8080;
/** The services drain for up to ~25 s on SIGTERM; the ALB waits a little longer than that. */
export const DEREGISTRATION_DELAY = Duration.seconds(30);
export const MAX_CAPACITY = 30;

export interface RustServiceProps {
  cluster: ecs.ICluster;
  /** Cargo package and binary, e.g. `ugc-channels` / `channels`. */
  packageName: string;
  bin: string;
  environment: Record<string, string>;
  secrets?: Record<string, ecs.Secret>;
  /** Inline statements of the task role (the application's own permissions, nothing else). */
  statements: iam.PolicyStatement[];
  minCapacity: number;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
  /** An ADOT collector sidecar exporting the service's metrics and traces (see observability.ts). */
  collector?: CollectorTarget;
}

export class RustService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskRole: iam.Role;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: RustServiceProps) {
    super(scope, id);

    // The task role carries only the application's statements. ECR pull and log delivery belong to the
    // execution role, which CDK creates separately (upstream attached the managed execution policy here).
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `${props.bin} service: application permissions`,
      inlinePolicies: { app: new iam.PolicyDocument({ statements: props.statements }) },
    });

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
    });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });

    taskDefinition.addContainer('app', {
      containerName: props.bin,
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: path.join('deploy', 'docker', 'Dockerfile'),
        buildArgs: { PACKAGE: props.packageName, BIN: props.bin },
        platform: Platform.LINUX_ARM64,
      }),
      environment: {
        PORT: String(CONTAINER_PORT),
        ...(props.collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_HTTP_ENDPOINT } : {}),
        ...props.environment,
      },
      secrets: props.secrets,
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: props.bin, logGroup }),
      healthCheck: {
        command: ['CMD', '/usr/local/bin/service', 'healthcheck'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(10),
      },
      readonlyRootFilesystem: true,
      // SIGTERM, then up to 30 s of draining before SIGKILL.
      stopTimeout: Duration.seconds(30),
    });

    if (props.collector) {
      addCollector(taskDefinition, this.taskRole, logGroup, props.collector);
    }

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(30),
    });

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.minCapacity,
      maxCapacity: MAX_CAPACITY,
    });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 70,
      scaleInCooldown: Duration.seconds(60),
      scaleOutCooldown: Duration.seconds(60),
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.cluster.vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: DEREGISTRATION_DELAY,
      healthCheck: {
        path: '/status',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      targets: [this.service],
    });
  }
}
