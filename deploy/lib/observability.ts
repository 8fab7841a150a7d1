// Service metrics in CloudWatch, the platform dashboard and its alarms.
//
// How the services' metrics reach CloudWatch: an ADOT collector sidecar in every service task.
// The services export metrics (and traces) over OTLP/HTTP to 127.0.0.1:4318 (crates/web/src/metrics.rs);
// the collector's `awsemf` exporter writes them as CloudWatch embedded-metric-format records into one
// log group, from which CloudWatch extracts the metrics into the UGC/<stack> namespace, and its
// `awsxray` exporter sends the spans to X-Ray. Chosen over
//   - EMF written by the services themselves: a second export path in the Rust code next to OTLP, and
//     stdout (the application log) would carry the metric records;
//   - the CloudWatch agent: it takes StatsD/collectd or OTLP too, but ADOT is the OpenTelemetry
//     distribution AWS supports for ECS, with the X-Ray exporter for the traces in the same sidecar.
// The sidecar is non-essential (the service keeps serving when it stops) and small (64 MiB reserved).
// A stage with `otlpEndpoint` set sends to that collector instead and gets no sidecar.
//
// Latency percentiles come from the ALB (`TargetResponseTime` p99), which CloudWatch computes from
// every request; the service histograms reach CloudWatch as statistic sets (count, sum, min, max).
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** AWS Distro for OpenTelemetry collector, pinned. */
export const ADOT_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3';
export const OTLP_HTTP_ENDPOINT = 'http://127.0.0.1:4318';

/** Where a service task's collector writes: the namespace and the EMF log group. */
export interface CollectorTarget {
  namespace: string;
  logGroup: logs.ILogGroup;
}

/** Thresholds of the alarms (one place to tune them). */
export const ALARMS = {
  /** Target 5xx responses as a percentage of all requests, over 5 minutes. */
  http5xxPercent: 1,
  /** ALB target response time p99, seconds, three 1-minute periods in a row. */
  p99LatencySeconds: 1,
  /** Events refused by event-ingest (EventBridge retries them), over 5 minutes. */
  ingestRefused: 10,
  /** Worst receipt delay behind the event time, seconds, over 5 minutes. */
  ingestLagSeconds: 300,
  /** Throttled DynamoDB requests per table, over 5 minutes. */
  dynamoThrottles: 1,
  /** Service tasks stopped by a crash or a failed start, over 15 minutes. */
  taskRestarts: 1,
} as const;

/**
 * The ADOT configuration: OTLP/HTTP in, metrics out as EMF (the dimension sets below become
 * CloudWatch metrics; nothing else is extracted), spans out to X-Ray.
 */
export function collectorConfig(target: { namespace: string; logGroupName: string }): string {
  const declarations = [
    { dimensions: [['service', 'http.route'], ['service']], metric_name_selectors: ['^http\\.server\\.request\\.duration$'] },
    { dimensions: [['outcome'], []], metric_name_selectors: ['^ugc\\.ingest\\.events$'] },
    { dimensions: [[]], metric_name_selectors: ['^ugc\\.ingest\\.lag$', '^process\\.memory\\.rss$'] },
    { dimensions: [['kind']], metric_name_selectors: ['^ugc\\.reconciler\\.corrections$'] },
    { dimensions: [['cache', 'result']], metric_name_selectors: ['^ugc\\.cache\\.lookups$'] },
    { dimensions: [['action']], metric_name_selectors: ['^ugc\\.rate_limit\\.refusals$'] },
    { dimensions: [['service']], metric_name_selectors: ['^ugc\\.aws\\.(throttles|retries)$'] },
  ];
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:4318' } } } },
    processors: {
      // Per-status series roll up into per-route ones; the service sends cumulative sums, and
      // awsemf turns them into per-minute deltas.
      'batch/metrics': { timeout: '60s' },
      'batch/traces': { timeout: '1s' },
    },
    exporters: {
      awsemf: {
        namespace: target.namespace,
        log_group_name: target.logGroupName,
        log_stream_name: 'otel-{TaskId}',
        dimension_rollup_option: 'NoDimensionRollup',
        resource_to_telemetry_conversion: { enabled: false },
        metric_declarations: declarations,
      },
      awsxray: {},
    },
    service: {
      pipelines: {
        metrics: { receivers: ['otlp'], processors: ['batch/metrics'], exporters: ['awsemf'] },
        traces: { receivers: ['otlp'], processors: ['batch/traces'], exporters: ['awsxray'] },
      },
    },
  };
  // YAML is a superset of JSON: the collector reads this as is.
  return JSON.stringify(config);
}

/** Adds the collector sidecar to a service task and lets the task role write what it exports. */
export function addCollector(
  task: ecs.FargateTaskDefinition,
  taskRole: iam.IRole,
  appLogGroup: logs.ILogGroup,
  target: CollectorTarget,
): void {
  task.addContainer('otel-collector', {
    containerName: 'otel-collector',
    image: ecs.ContainerImage.fromRegistry(ADOT_IMAGE),
    essential: false,
    memoryReservationMiB: 64,
    environment: {
      AOT_CONFIG_CONTENT: collectorConfig({ namespace: target.namespace, logGroupName: target.logGroup.logGroupName }),
    },
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'otel-collector', logGroup: appLogGroup }),
  });
  taskRole.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'MetricsEmf',
      actions: ['logs:PutLogEvents', 'logs:CreateLogStream', 'logs:DescribeLogStreams'],
      resources: [target.logGroup.logGroupArn, `${target.logGroup.logGroupArn}:log-stream:*`],
    }),
  );
  taskRole.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'Traces',
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      // X-Ray has no resource-level permissions for these actions.
      resources: ['*'],
    }),
  );
}

export interface ObservedService {
  /** As in the metrics' `service` attribute (`SERVICE_NAME`; `api` for the combined one). */
  label: string;
  service: ecs.FargateService;
  targetGroup: elbv2.ApplicationTargetGroup;
}

export interface PlatformObservabilityProps {
  namespace: string;
  alb: elbv2.ApplicationLoadBalancer;
  cluster: ecs.ICluster;
  services: ObservedService[];
  tables: dynamodb.ITable[];
  ivsRule: events.Rule;
  queues: { name: string; queue: sqs.IQueue }[];
  functions: lambda.IFunction[];
}

/** The platform dashboard and the operational alarms. */
export class PlatformObservability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PlatformObservabilityProps) {
    super(scope, id);
    const ns = props.namespace;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const svcMetric = (metricName: string, dimensionsMap: Record<string, string>, statistic: string, period = minute) =>
      new cloudwatch.Metric({ namespace: ns, metricName, dimensionsMap, statistic, period });

    // ------------------------------------------------------------ ALB: traffic, 5xx rate, latency
    const albMetrics = props.alb.metrics;
    const requests = albMetrics.requestCount({ period: fiveMinutes, statistic: 'Sum' });
    const target5xx = albMetrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: fiveMinutes, statistic: 'Sum' });
    const elb5xx = albMetrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: fiveMinutes, statistic: 'Sum' });
    const rate5xx = new cloudwatch.MathExpression({
      expression: '100 * (FILL(t5, 0) + FILL(e5, 0)) / MAX([FILL(req, 0), 1])',
      usingMetrics: { t5: target5xx, e5: elb5xx, req: requests },
      label: '5xx % of requests',
      period: fiveMinutes,
    });
    const p99 = albMetrics.targetResponseTime({ period: minute, statistic: 'p99' });

    this.alarm('Http5xxRateAlarm', {
      alarmDescription: `More than ${ALARMS.http5xxPercent}% of API requests answered 5xx (ALB and targets) over 5 minutes`,
      metric: rate5xx,
      threshold: ALARMS.http5xxPercent,
      evaluationPeriods: 1,
    });
    this.alarm('LatencyP99Alarm', {
      alarmDescription: `ALB target response time p99 above ${ALARMS.p99LatencySeconds} s for 3 minutes`,
      metric: p99,
      threshold: ALARMS.p99LatencySeconds,
      evaluationPeriods: 3,
    });

    // ------------------------------------------------------------ ingest
    const refused = svcMetric('ugc.ingest.events', { outcome: 'refused' }, 'Sum', fiveMinutes);
    const lagMax = svcMetric('ugc.ingest.lag', {}, 'Maximum', fiveMinutes);
    this.alarm('IngestRefusedAlarm', {
      alarmDescription: `event-ingest refused more than ${ALARMS.ingestRefused} IVS events in 5 minutes (EventBridge retries them; see the service logs)`,
      metric: refused,
      threshold: ALARMS.ingestRefused,
      evaluationPeriods: 1,
    });
    this.alarm('IngestLagAlarm', {
      alarmDescription: `IVS events arrive more than ${ALARMS.ingestLagSeconds} s after their event time`,
      metric: lagMax,
      threshold: ALARMS.ingestLagSeconds,
      evaluationPeriods: 2,
    });

    // ------------------------------------------------------------ DynamoDB throttles
    props.tables.forEach((table, i) => {
      const throttles = new cloudwatch.MathExpression({
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: {
          r: table.metric('ReadThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
          w: table.metric('WriteThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
        },
        label: 'throttled reads + writes',
        period: fiveMinutes,
      });
      this.alarm(`DynamoThrottleAlarm${i}`, {
        alarmDescription: `DynamoDB throttled requests on ${table.node.id} (on-demand capacity or a hot key)`,
        metric: throttles,
        threshold: ALARMS.dynamoThrottles,
        evaluationPeriods: 1,
      });
    });

    // ------------------------------------------------------------ ECS task restarts
    // ECS publishes no restart metric: a rule counts the service tasks that stopped because their
    // container exited or failed to start (deployments and scale-in stop tasks with other codes),
    // and keeps each such event in a log group for the post-mortem.
    const stoppedLog = new logs.LogGroup(this, 'StoppedTasks', { retention: logs.RetentionDays.ONE_MONTH });
    const restarts = new events.Rule(this, 'TaskRestartsRule', {
      description: 'ECS service tasks of this cluster that crashed or failed to start',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          stopCode: ['EssentialContainerExited', 'TaskFailedToStart'],
        },
      },
      // The log group's resource policy is written by a custom resource; Lambda's built-in SDK suffices.
      targets: [new targets.CloudWatchLogGroup(stoppedLog, { installLatestAwsSdk: false })],
    });
    const restartCount = new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'TriggeredRules',
      dimensionsMap: { RuleName: restarts.ruleName },
      statistic: 'Sum',
      period: Duration.minutes(15),
    });
    this.alarm('TaskRestartsAlarm', {
      alarmDescription: 'A service task crashed or failed to start (see the StoppedTasks log group and the service logs)',
      metric: restartCount,
      threshold: ALARMS.taskRestarts,
      evaluationPeriods: 1,
    });

    // ------------------------------------------------------------ dashboard
    const stack = Stack.of(this);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-platform`,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], opts: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...opts });
    const perService = (metricName: string, statistic: string, label: string) =>
      props.services.map((s) =>
        svcMetric(metricName, { service: s.label }, statistic).with({ label: `${s.label} ${label}` }),
      );

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# UGC platform\nALB → services (RED per route from the services over OTLP → ADOT → EMF), ' +
          'IVS events → EventBridge → event-ingest, DynamoDB, Lambdas. Alarms below.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('ALB requests and 5xx', [requests, target5xx, elb5xx]),
      graph('5xx rate (%)', [rate5xx], { leftAnnotations: [{ value: ALARMS.http5xxPercent, label: 'alarm' }] }),
      graph('Target response time', [
        albMetrics.targetResponseTime({ period: minute, statistic: 'p50' }),
        p99,
      ], { leftAnnotations: [{ value: ALARMS.p99LatencySeconds, label: 'p99 alarm' }] }),
    );
    this.dashboard.addWidgets(
      graph('Requests per service (services)', perService('http.server.request.duration', 'SampleCount', 'requests')),
      graph('Mean latency per service (s)', perService('http.server.request.duration', 'Average', 'mean')),
      graph('Max latency per service (s)', perService('http.server.request.duration', 'Maximum', 'max')),
    );
    this.dashboard.addWidgets(
      graph(
        'Ingest outcomes',
        ['stored', 'duplicate', 'pending', 'ignored', 'refused'].map((o) =>
          svcMetric('ugc.ingest.events', { outcome: o }, 'Sum').with({ label: o }),
        ),
        { stacked: true },
      ),
      graph('Ingest lag behind event time (s)', [
        svcMetric('ugc.ingest.lag', {}, 'Average').with({ label: 'mean' }),
        svcMetric('ugc.ingest.lag', {}, 'Maximum').with({ label: 'max' }),
      ]),
      graph('EventBridge → event-ingest', [
        ...['Invocations', 'FailedInvocations'].map(
          (m) =>
            new cloudwatch.Metric({
              namespace: 'AWS/Events',
              metricName: m,
              dimensionsMap: { RuleName: props.ivsRule.ruleName },
              statistic: 'Sum',
              period: minute,
            }),
        ),
        svcMetric('ugc.reconciler.corrections', { kind: 'session_ended' }, 'Sum').with({ label: 'reconciler: sessions ended' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Public cache hits / misses',
        ['channel_page', 'directory'].flatMap((c) =>
          ['hit', 'miss'].map((r) => svcMetric('ugc.cache.lookups', { cache: c, result: r }, 'Sum').with({ label: `${c} ${r}` })),
        ),
      ),
      graph(
        'Rate-limit refusals (429)',
        ['sign_up', 'password_reset', 'chat_token', 'follow', 'stream_action', 'presigned_post', 'product_search'].map((a) =>
          svcMetric('ugc.rate_limit.refusals', { action: a }, 'Sum').with({ label: a }),
        ),
        { stacked: true },
      ),
      graph(
        'AWS SDK throttles and retries',
        ['dynamodb', 'ivs', 'ivschat', 'cognito-idp', 'monitoring', 'secretsmanager', 's3'].flatMap((s) => [
          svcMetric('ugc.aws.throttles', { service: s }, 'Sum').with({ label: `${s} throttles` }),
          svcMetric('ugc.aws.retries', { service: s }, 'Sum').with({ label: `${s} retries` }),
        ]),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'ECS CPU / memory (%)',
        props.services.flatMap((s) => [
          s.service.metricCpuUtilization({ period: minute }).with({ label: `${s.label} cpu` }),
          s.service.metricMemoryUtilization({ period: minute }).with({ label: `${s.label} memory` }),
        ]),
      ),
      graph('Process RSS (bytes)', [svcMetric('process.memory.rss', {}, 'Maximum').with({ label: 'max RSS' })]),
      graph(
        'Healthy targets',
        props.services.map((s) => s.targetGroup.metrics.healthyHostCount({ period: minute }).with({ label: s.label })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB consumed capacity',
        props.tables.flatMap((t) => [
          t.metricConsumedReadCapacityUnits({ period: minute }).with({ label: `${t.node.id} read` }),
          t.metricConsumedWriteCapacityUnits({ period: minute }).with({ label: `${t.node.id} write` }),
        ]),
      ),
      graph(
        'DynamoDB throttles',
        props.tables.flatMap((t) => [
          t.metric('ReadThrottleEvents', { period: minute, statistic: 'Sum' }).with({ label: `${t.node.id} read` }),
          t.metric('WriteThrottleEvents', { period: minute, statistic: 'Sum' }).with({ label: `${t.node.id} write` }),
        ]),
      ),
      graph(
        'Dead-letter queues (messages)',
        props.queues.map((q) =>
          q.queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }).with({ label: q.name }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda invocations and errors',
        props.functions.flatMap((f) => [
          f.metricInvocations({ period: fiveMinutes }).with({ label: `${f.node.id} invocations` }),
          f.metricErrors({ period: fiveMinutes }).with({ label: `${f.node.id} errors` }),
        ]),
        { width: 12 },
      ),
      graph(
        'Lambda duration p99 (ms)',
        props.functions.map((f) => f.metricDuration({ period: fiveMinutes, statistic: 'p99' }).with({ label: f.node.id })),
        { width: 12 },
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
  }

  private alarm(
    id: string,
    props: Pick<cloudwatch.AlarmProps, 'alarmDescription' | 'metric' | 'threshold' | 'evaluationPeriods'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms.push(alarm);
    return alarm;
  }
}
