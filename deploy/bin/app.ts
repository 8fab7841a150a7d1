#!/usr/bin/env node
// Entry point. Context (all optional, passed by the root Makefile):
//   stage        config/<stage>.json (default dev)
//   stackName    default UGC-<stage>
//   scheduleExp  cleanup schedule (default: the stage's cleanupSchedule, rate(48 hours))
//   publish      directory of a built SPA to host on S3 + CloudFront
//   skipBundling "true": do not build the Rust Lambdas (offline synth; no Docker needed)
import * as path from 'path';
import { App, Tags } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { ConfigError, loadConfig } from '../lib/config';
import { PROJECT_TAG, UgcStack } from '../lib/ugc-stack';

function main(): void {
  const app = new App();
  if (app.node.tryGetContext('skipBundling') === 'true') app.node.setContext(BUNDLING_STACKS, []);

  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const config = loadConfig(stage);
  const stackName = String(app.node.tryGetContext('stackName') ?? `UGC-${stage}`);
  const schedule = app.node.tryGetContext('scheduleExp');
  const publish = app.node.tryGetContext('publish');

  new UgcStack(app, stackName, {
    config,
    description: `Amazon IVS UGC backend (Rust), stage ${config.stageName}`,
    // With credentials (deploy) the stack is bound to that account/region and gets its real AZs;
    // without (offline synth) it stays environment-agnostic.
    env:
      process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
        ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
        : undefined,
    scheduleExpression: schedule ? String(schedule) : undefined,
    publishDir: publish && publish !== 'false' ? path.resolve(String(publish)) : undefined,
  });
  Tags.of(app).add('project', PROJECT_TAG);
  Tags.of(app).add('stage', config.stageName);
}

try {
  main();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
