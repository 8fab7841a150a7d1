import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ALARMS, ADOT_IMAGE, OTLP_HTTP_ENDPOINT } from '../lib/observability';
import { asArray, logicalId, resources, roleStatements, synth } from './helpers';

/** The dashboard body with its Fn::Join flattened (tokens kept as JSON). */
function dashboardBody(t: ReturnType<typeof synth>): string {
  const dashboards = Object.values(resources(t, 'AWS::CloudWatch::Dashboard'));
  assert.equal(dashboards.length, 1);
  const body = dashboards[0].Properties.DashboardBody;
  if (typeof body === 'string') return body;
  return body['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
}

function alarmsByDescription(t: ReturnType<typeof synth>) {
  return Object.values(resources(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
}

function find(t: ReturnType<typeof synth>, words: string) {
  const found = alarmsByDescription(t).filter((a) => String(a.AlarmDescription).includes(words));
  assert.equal(found.length, 1, `one alarm about "${words}"`);
  return found[0];
}

describe('dashboard', () => {
  for (const [stage, separate] of [['dev', false], ['prod', true]] as const) {
    test(`covers ALB, ECS, DynamoDB, EventBridge, Lambda and the service metrics (${stage})`, () => {
      const t = synth(stage);
      const dash = Object.values(resources(t, 'AWS::CloudWatch::Dashboard'))[0];
      assert.equal(dash.Properties.DashboardName, `UGC-${stage}-platform`);
      const body = dashboardBody(t);
      for (const needle of [
        '"AWS/ApplicationELB","RequestCount"',
        '"AWS/ApplicationELB","HTTPCode_Target_5XX_Count"',
        '"AWS/ApplicationELB","TargetResponseTime"',
        '"AWS/ECS","CPUUtilization"',
        '"AWS/DynamoDB","ReadThrottleEvents"',
        '"AWS/DynamoDB","ConsumedWriteCapacityUnits"',
        '"AWS/Events","FailedInvocations"',
        '"AWS/Lambda","Errors"',
        '"AWS/SQS","ApproximateNumberOfMessagesVisible"',
        `"UGC/UGC-${stage}","http.server.request.duration"`,
        '"ugc.ingest.events","outcome","refused"',
        '"ugc.ingest.lag"',
        '"ugc.reconciler.corrections"',
        '"ugc.cache.lookups","cache","channel_page","result","hit"',
        '"ugc.rate_limit.refusals"',
        '"ugc.aws.throttles"',
        '"ugc.aws.retries"',
        '"process.memory.rss"',
      ]) {
        assert.ok(body.includes(needle), `dashboard shows ${needle}`);
      }
      const labels = separate ? ['channels', 'metrics', 'event-ingest'] : ['api', 'event-ingest'];
      for (const l of labels) assert.ok(body.includes(`"service","${l}"`), `per-service RED for ${l}`);
      assert.ok(body.includes('"alarm"'), 'an alarm status widget');
    });
  }
});

describe('alarms', () => {
  const t = synth('prod');

  test('5xx rate over all requests, from the ALB', () => {
    const a = find(t, '5xx');
    assert.equal(a.Threshold, ALARMS.http5xxPercent);
    const expr = a.Metrics.find((m: any) => m.Expression);
    assert.match(expr.Expression, /100 \* \(FILL\(t5, 0\) \+ FILL\(e5, 0\)\) \/ MAX/);
    const names = a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName).sort();
    assert.deepEqual(names, ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'RequestCount']);
  });

  test('p99 latency from the ALB target response time', () => {
    const a = find(t, 'p99');
    assert.equal(a.MetricName, 'TargetResponseTime');
    assert.equal(a.ExtendedStatistic, 'p99');
    assert.equal(a.Threshold, ALARMS.p99LatencySeconds);
    assert.equal(a.EvaluationPeriods, 3);
  });

  test('ingest failures and lag from the service metrics', () => {
    const refused = find(t, 'refused');
    assert.equal(refused.Namespace, 'UGC/UGC-prod');
    assert.equal(refused.MetricName, 'ugc.ingest.events');
    assert.deepEqual(refused.Dimensions, [{ Name: 'outcome', Value: 'refused' }]);
    const lag = find(t, 'after their event time');
    assert.equal(lag.MetricName, 'ugc.ingest.lag');
    assert.equal(lag.Statistic, 'Maximum');
    assert.equal(lag.Threshold, ALARMS.ingestLagSeconds);
    // EventBridge delivery failures and the DLQ depths keep their alarms.
    find(t, 'EventBridge failed to deliver');
    find(t, 'waiting in the DLQ');
    find(t, 'Asset-version messages');
  });

  test('DynamoDB throttles on both tables', () => {
    const throttles = alarmsByDescription(t).filter((a) => String(a.AlarmDescription).includes('DynamoDB throttled'));
    assert.equal(throttles.length, 2);
    const tables = throttles.map((a) => {
      const names = a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName).sort();
      assert.deepEqual(names, ['ReadThrottleEvents', 'WriteThrottleEvents']);
      return a.Metrics.find((m: any) => m.MetricStat).MetricStat.Metric.Dimensions[0].Value.Ref;
    });
    assert.deepEqual(tables.sort(), [logicalId(t, 'AWS::DynamoDB::Table', 'ChannelsTable'), logicalId(t, 'AWS::DynamoDB::Table', 'StreamsTable')].sort());
  });

  test('ECS task restarts: a rule on crashed or failed-to-start tasks of the cluster, and its alarm', () => {
    const rules = Object.entries(resources(t, 'AWS::Events::Rule')).filter(([id]) => id.includes('TaskRestartsRule'));
    assert.equal(rules.length, 1);
    const [ruleId, rule] = rules[0];
    const pattern = rule.Properties.EventPattern;
    assert.deepEqual(pattern.source, ['aws.ecs']);
    assert.deepEqual(pattern['detail-type'], ['ECS Task State Change']);
    assert.deepEqual(pattern.detail.lastStatus, ['STOPPED']);
    assert.deepEqual(pattern.detail.stopCode.sort(), ['EssentialContainerExited', 'TaskFailedToStart']);
    assert.deepEqual(pattern.detail.clusterArn, [{ 'Fn::GetAtt': [logicalId(t, 'AWS::ECS::Cluster', 'Cluster'), 'Arn'] }]);
    const a = find(t, 'crashed or failed to start');
    assert.equal(a.MetricName, 'TriggeredRules');
    assert.deepEqual(a.Dimensions, [{ Name: 'RuleName', Value: { Ref: ruleId } }]);
  });

  test('every alarm ignores missing data (no traffic is not an incident)', () => {
    for (const a of alarmsByDescription(t)) assert.equal(a.TreatMissingData, 'notBreaching', a.AlarmDescription);
  });
});

/** The service task definitions (the one-off Migrate task excluded). */
function serviceTasks(t: any): [string, any][] {
  return Object.entries(resources(t, 'AWS::ECS::TaskDefinition')).filter(([id]) => !id.startsWith('Migrate'));
}

describe('service metrics pipeline', () => {
  test('every service task has the ADOT sidecar; the app exports OTLP to it', () => {
    for (const stage of ['dev', 'prod'] as const) {
      const t = synth(stage);
      const metricsLogs = logicalId(t, 'AWS::Logs::LogGroup', 'ServiceMetricsLogs');
      // The one-off Migrate task (ugc-admin) is a batch job, not a service: it exports nothing.
      for (const [id, td] of serviceTasks(t)) {
        const [app, collector, ...rest] = td.Properties.ContainerDefinitions;
        assert.equal(rest.length, 0);
        const env = Object.fromEntries(app.Environment.map((e: any) => [e.Name, e.Value]));
        assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, OTLP_HTTP_ENDPOINT, id);
        assert.equal(collector.Image, ADOT_IMAGE);
        assert.equal(collector.Essential, false);
        const value = collector.Environment.find((e: any) => e.Name === 'AOT_CONFIG_CONTENT').Value;
        // The log group name is a token: the value is an Fn::Join around its Ref.
        const parts: unknown[] = typeof value === 'string' ? [value] : value['Fn::Join'][1];
        assert.ok(parts.some((p) => JSON.stringify(p) === JSON.stringify({ Ref: metricsLogs })), `${id}: EMF into the metrics log group`);
        const config = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'token')).join(''));
        assert.equal(config.exporters.awsemf.namespace, `UGC/UGC-${stage}`);
        assert.deepEqual(config.service.pipelines.metrics.exporters, ['awsemf']);
        assert.deepEqual(config.service.pipelines.traces.exporters, ['awsxray']);
        const role = td.Properties.TaskRoleArn['Fn::GetAtt'][0];
        const emf = roleStatements(t, role).find((s) => asArray(s.Action).includes('logs:PutLogEvents'));
        assert.ok(emf, `${id}: the task role may write the EMF records`);
        assert.ok(JSON.stringify(emf.Resource).includes(metricsLogs), `${id}: only to the metrics log group`);
      }
    }
  });

  test('a stage with its own OTLP collector gets no sidecar', () => {
    const t = synth('dev', { otlpEndpoint: 'https://collector.example:4318' });
    for (const [, td] of serviceTasks(t)) {
      assert.equal(td.Properties.ContainerDefinitions.length, 1);
      const env = Object.fromEntries(td.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'https://collector.example:4318');
    }
  });
});
