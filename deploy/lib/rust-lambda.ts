// Rust Lambdas (package `ugc-triggers`), built at deploy time in a build container. Bundling runs only
// for the stacks being deployed; tests and `make synth` skip it (context `aws:cdk:bundling-stacks = []`),
// and then the build image is not even built.
import * as fs from 'fs';
import * as path from 'path';
import { DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TRIGGERS_PACKAGE = 'ugc-triggers';

/** Only the Rust sources go into the bundling input and its fingerprint. */
const SOURCE_EXCLUDES = ['target', '.local', '.git', '**/node_modules', 'deploy', 'openapi'];

const CACHE_DIR = path.join(REPO_ROOT, '.local', 'lambda-build');
let builder: DockerImage | undefined;

function builderImage(scope: Construct): DockerImage {
  if (!Stack.of(scope).bundlingRequired) {
    // Never run: bundling is skipped for this stack. fromRegistry does not touch Docker.
    return DockerImage.fromRegistry('ugc-lambda-builder:unused');
  }
  if (!builder) {
    // Created here, not by Docker, so that it belongs to the user who runs the build.
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    builder = DockerImage.fromBuild(path.join(REPO_ROOT, 'deploy', 'docker'), {
      file: 'lambda-builder.Dockerfile',
    });
  }
  return builder;
}

export function rustLambdaCode(scope: Construct, bin: string): lambda.Code {
  return lambda.Code.fromAsset(REPO_ROOT, {
    exclude: SOURCE_EXCLUDES,
    bundling: {
      image: builderImage(scope),
      // Compiled crates are kept between builds (and between the six functions) under .local/.
      volumes: [{ hostPath: CACHE_DIR, containerPath: '/cargo-target' }],
      // CDK runs the container as the calling user, who has no home there: point every cache at the volume.
      environment: {
        CARGO_TARGET_DIR: '/cargo-target',
        CARGO_HOME: '/cargo-target/cargo-home',
        HOME: '/cargo-target/home',
        XDG_CACHE_HOME: '/cargo-target/cache',
      },
      command: [
        'bash',
        '-euc',
        `cargo lambda build --release --arm64 --locked -p ${TRIGGERS_PACKAGE} --bin ${bin} --lambda-dir /tmp/lambda` +
          ` && cp /tmp/lambda/${bin}/bootstrap /asset-output/bootstrap`,
      ],
    },
  });
}

export interface RustFunctionProps {
  bin: string;
  description: string;
  environment?: Record<string, string>;
  timeout?: Duration;
  memorySize?: number;
  /** Days; undefined = never expire. */
  logRetentionDays?: number;
  removalPolicy: RemovalPolicy;
}

export class RustFunction extends lambda.Function {
  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetentionDays ?? logs.RetentionDays.INFINITE,
      removalPolicy: props.removalPolicy,
    });
    super(scope, id, {
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: rustLambdaCode(scope, props.bin),
      memorySize: props.memorySize ?? 128,
      timeout: props.timeout ?? Duration.seconds(5),
      environment: { RUST_LOG: 'info', ...props.environment },
      logGroup,
    });
  }
}
