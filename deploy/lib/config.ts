// Stage configuration: the upstream `resourceConfig` keys (same names, meanings and defaults) plus a
// few explicit new knobs. Loaded from `config/<stage>.json` and validated strictly: an unknown key or a
// wrong type is an error, so a typo cannot silently fall back to a default. The keys are described in
// docs/infra.md §4; the environment variables the stack derives from them, in docs/configuration.md.
import * as fs from 'fs';
import * as path from 'path';

export type IvsChannelType = 'BASIC' | 'STANDARD' | 'ADVANCED_SD' | 'ADVANCED_HD';

export interface StageConfig {
  /** CORS origins for the API and the assets bucket (`ALLOWED_ORIGINS`). */
  allowedOrigins: string[];
  /** Base URL of the SPA used in Cognito e-mail links (`CLIENT_BASE_URL`). */
  clientBaseUrl: string;
  /** true: separate channels and metrics services; false: one combined `api` service. */
  deploySeparateContainers: boolean;
  /** true: PreSignUp auto-confirms users (dev); false: Cognito e-mails a verification code. */
  enableUserAutoVerify: boolean;
  ivsChannelType: IvsChannelType;
  ivsAdvancedChannelTranscodePreset: string;
  /** Lambda log retention in days; absent = never expire (upstream's prod behaviour). */
  logRetention?: number;
  maxAzs: number;
  minScalingCapacity: number;
  natGateways: number;
  signUpAllowedDomains: string[];
  stageName: string;
  enableAmazonProductStreamAction: boolean;
  productApiLocale: string;
  productLinkRegionCode: string;
  // ---- new knobs (not upstream) ----
  /** ECS service log retention in days (upstream hard-coded 731). */
  serviceLogRetention: number;
  /** Keep tables, the user pool and the assets bucket on stack deletion, and turn on PITR. */
  retainData: boolean;
  /** Cleanup schedule for unverified users; the Makefile's SCHEDULE overrides it. */
  cleanupSchedule: string;
  /** OTLP endpoint for traces (`OTEL_EXPORTER_OTLP_ENDPOINT`); "" = off. */
  otlpEndpoint: string;
  /**
   * Optional HTTPS between CloudFront and the ALB: a DNS name the operator points at the ALB, and an ACM
   * certificate (in the stack's region) for it. Both "" = HTTP on that leg (still CloudFront-only).
   */
  apiOriginDomainName: string;
  apiOriginCertificateArn: string;
  // ---- adopting an upstream deployment (lib/adopt.ts): "" = create the resource ----
  /** Existing Channels and Streams table names (both or neither). */
  existingChannelsTableName: string;
  existingStreamsTableName: string;
  /** Existing Cognito user pool and its app client (both or neither); our triggers are attached to it. */
  existingUserPoolId: string;
  existingUserPoolClientId: string;
  /** Existing channel-assets bucket and the CDN base URL its stored asset URLs use (both or neither). */
  existingChannelAssetsBucketName: string;
  existingChannelAssetsBaseUrl: string;
  /** Existing Secrets Manager secret (name or ARN) for the product-search credentials. */
  existingProductApiSecret: string;
}

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

const CHANNEL_TYPES: IvsChannelType[] = ['BASIC', 'STANDARD', 'ADVANCED_SD', 'ADVANCED_HD'];

/** Upstream defaults (docs/infra.md §4) for keys a stage file leaves out. */
export const DEFAULTS: Omit<StageConfig, 'stageName'> = {
  allowedOrigins: ['*'],
  clientBaseUrl: 'http://localhost:3000',
  deploySeparateContainers: false,
  enableUserAutoVerify: false,
  ivsChannelType: 'STANDARD',
  ivsAdvancedChannelTranscodePreset: '',
  maxAzs: 2,
  minScalingCapacity: 1,
  natGateways: 1,
  signUpAllowedDomains: [],
  enableAmazonProductStreamAction: false,
  productApiLocale: '',
  productLinkRegionCode: '',
  serviceLogRetention: 731,
  retainData: false,
  cleanupSchedule: 'rate(48 hours)',
  otlpEndpoint: '',
  apiOriginDomainName: '',
  apiOriginCertificateArn: '',
  existingChannelsTableName: '',
  existingStreamsTableName: '',
  existingUserPoolId: '',
  existingUserPoolClientId: '',
  existingChannelAssetsBucketName: '',
  existingChannelAssetsBaseUrl: '',
  existingProductApiSecret: '',
};

type Kind = 'string' | 'boolean' | 'integer' | 'string[]';

const SCHEMA: Record<keyof StageConfig, Kind> = {
  allowedOrigins: 'string[]',
  clientBaseUrl: 'string',
  deploySeparateContainers: 'boolean',
  enableUserAutoVerify: 'boolean',
  ivsChannelType: 'string',
  ivsAdvancedChannelTranscodePreset: 'string',
  logRetention: 'integer',
  maxAzs: 'integer',
  minScalingCapacity: 'integer',
  natGateways: 'integer',
  signUpAllowedDomains: 'string[]',
  stageName: 'string',
  enableAmazonProductStreamAction: 'boolean',
  productApiLocale: 'string',
  productLinkRegionCode: 'string',
  serviceLogRetention: 'integer',
  retainData: 'boolean',
  cleanupSchedule: 'string',
  otlpEndpoint: 'string',
  apiOriginDomainName: 'string',
  apiOriginCertificateArn: 'string',
  existingChannelsTableName: 'string',
  existingStreamsTableName: 'string',
  existingUserPoolId: 'string',
  existingUserPoolClientId: 'string',
  existingChannelAssetsBucketName: 'string',
  existingChannelAssetsBaseUrl: 'string',
  existingProductApiSecret: 'string',
};

export class ConfigError extends Error {}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

function checkKind(key: string, value: unknown, kind: Kind, errors: string[]): void {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') errors.push(`"${key}" must be a string, got ${kindOf(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`"${key}" must be true or false, got ${kindOf(value)}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        errors.push(`"${key}" must be an integer, got ${kindOf(value)} ${JSON.stringify(value)}`);
      }
      break;
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        errors.push(`"${key}" must be an array of strings`);
      }
      break;
  }
}

/** Validates a parsed stage document and fills in the defaults. `source` names it in errors. */
export function parseConfig(raw: unknown, source: string): StageConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the configuration must be a JSON object`);
  }
  const doc = raw as Record<string, unknown>;
  const errors: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!(key in SCHEMA)) {
      errors.push(`unknown key "${key}" (known: ${Object.keys(SCHEMA).sort().join(', ')})`);
      continue;
    }
    checkKind(key, doc[key], SCHEMA[key as keyof StageConfig], errors);
  }
  if (!('stageName' in doc)) errors.push('"stageName" is required');
  if (errors.length === 0) {
    const cfg = { ...DEFAULTS, ...doc } as StageConfig;
    if (!/^[a-zA-Z][a-zA-Z0-9-]{0,19}$/.test(cfg.stageName)) {
      errors.push('"stageName" must be 1-20 letters, digits or dashes, starting with a letter');
    }
    if (!CHANNEL_TYPES.includes(cfg.ivsChannelType)) {
      errors.push(`"ivsChannelType" must be one of ${CHANNEL_TYPES.join(', ')}`);
    }
    if (cfg.logRetention !== undefined && !LOG_RETENTION_DAYS.includes(cfg.logRetention)) {
      errors.push(`"logRetention" must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
    }
    if (!LOG_RETENTION_DAYS.includes(cfg.serviceLogRetention)) {
      errors.push(`"serviceLogRetention" must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
    }
    if (cfg.maxAzs < 1 || cfg.maxAzs > 6) errors.push('"maxAzs" must be between 1 and 6');
    if (cfg.natGateways < 0 || cfg.natGateways > cfg.maxAzs) {
      errors.push('"natGateways" must be between 0 and maxAzs');
    }
    if (cfg.minScalingCapacity < 1 || cfg.minScalingCapacity > 30) {
      errors.push('"minScalingCapacity" must be between 1 and 30 (the maximum is 30)');
    }
    if (cfg.allowedOrigins.length === 0) errors.push('"allowedOrigins" must not be empty');
    for (const origin of cfg.allowedOrigins) {
      if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
        errors.push(`"allowedOrigins": "${origin}" must be "*" or scheme://host[:port] without a path`);
      }
    }
    if (cfg.clientBaseUrl !== '' && !/^https?:\/\/\S+$/.test(cfg.clientBaseUrl)) {
      errors.push('"clientBaseUrl" must be an http(s) URL or ""');
    }
    for (const domain of cfg.signUpAllowedDomains) {
      if (!/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(domain)) {
        errors.push(`"signUpAllowedDomains": "${domain}" is not a domain name`);
      }
    }
    if (!/^(rate|cron)\(.+\)$/.test(cfg.cleanupSchedule)) {
      errors.push('"cleanupSchedule" must be a rate(...) or cron(...) expression');
    }
    if ((cfg.apiOriginDomainName === '') !== (cfg.apiOriginCertificateArn === '')) {
      errors.push('"apiOriginDomainName" and "apiOriginCertificateArn" go together: set both or neither');
    }
    if (cfg.apiOriginCertificateArn !== '' && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/.test(cfg.apiOriginCertificateArn)) {
      errors.push('"apiOriginCertificateArn" must be an ACM certificate ARN');
    }
    if (cfg.otlpEndpoint !== '' && !/^https?:\/\/\S+$/.test(cfg.otlpEndpoint)) {
      errors.push('"otlpEndpoint" must be an http(s) URL or ""');
    }
    errors.push(...validateAdoption(cfg));
    if (errors.length === 0) return cfg;
  }
  throw new ConfigError(`${source}: invalid configuration:\n  - ${errors.join('\n  - ')}`);
}

/** Reads `config/<stage>.json` next to this package. */
export function loadConfig(stage: string, dir = path.join(__dirname, '..', 'config')): StageConfig {
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) throw new ConfigError(`invalid stage name "${stage}"`);
  const file = path.join(dir, `${stage}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    throw new ConfigError(`no configuration for stage "${stage}" (${file}); known stages: ${known.join(', ')}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, file);
}

/** The adoption keys: pairs go together, and each value has its resource's format. */
export function validateAdoption(cfg: StageConfig): string[] {
  const errors: string[] = [];
  const pair = (a: keyof StageConfig, b: keyof StageConfig) => {
    if ((cfg[a] === '') !== (cfg[b] === '')) errors.push(`"${a}" and "${b}" go together: set both or neither`);
  };
  pair('existingChannelsTableName', 'existingStreamsTableName');
  pair('existingUserPoolId', 'existingUserPoolClientId');
  pair('existingChannelAssetsBucketName', 'existingChannelAssetsBaseUrl');
  const check = (key: keyof StageConfig, pattern: RegExp, what: string) => {
    const value = cfg[key] as string;
    if (value !== '' && !pattern.test(value)) errors.push(`"${key}" must be ${what}, got "${value}"`);
  };
  check('existingChannelsTableName', /^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name');
  check('existingStreamsTableName', /^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name');
  check('existingUserPoolId', /^[a-z]{2}-[a-z]+-\d_[0-9A-Za-z]+$/, 'a Cognito user pool id (<region>_<id>)');
  check('existingUserPoolClientId', /^[0-9a-z]{1,128}$/, 'a Cognito app client id');
  check('existingChannelAssetsBucketName', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
  check('existingChannelAssetsBaseUrl', /^https:\/\/[^/\s]+$/, 'an https://host URL without a path');
  check(
    'existingProductApiSecret',
    /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|[\w/+=.@-]{1,512})$/,
    'a Secrets Manager secret name or ARN',
  );
  if (cfg.existingChannelsTableName !== '' && cfg.existingChannelsTableName === cfg.existingStreamsTableName) {
    errors.push('"existingChannelsTableName" and "existingStreamsTableName" must differ');
  }
  return errors;
}
