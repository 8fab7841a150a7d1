// Synthesizes the stack offline (no credentials, no Docker: bundling skipped) and caches the templates.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { StageConfig, loadConfig } from '../lib/config';
import { UgcStack, UgcStackProps } from '../lib/ugc-stack';

export type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string; [k: string]: any }>;

const cache = new Map<string, Template>();

export function synth(
  stage: 'dev' | 'prod',
  overrides: Partial<StageConfig> = {},
  extra: Partial<UgcStackProps> = {},
): Template {
  const key = JSON.stringify([stage, overrides, extra]);
  const hit = cache.get(key);
  if (hit) return hit;
  const app = new App({ context: { [BUNDLING_STACKS]: [] } });
  const config = { ...loadConfig(stage), ...overrides };
  const stack = new UgcStack(app, `UGC-${stage}`, { config, ...extra });
  const template = Template.fromStack(stack);
  cache.set(key, template);
  return template;
}

export function resources(t: Template, type?: string): Resources {
  const all = t.toJSON().Resources as Resources;
  if (!type) return all;
  return Object.fromEntries(Object.entries(all).filter(([, r]) => r.Type === type));
}

/** The single resource of `type` whose logical id starts with `prefix`. */
export function one(t: Template, type: string, prefix: string) {
  const found = Object.entries(resources(t, type)).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) {
    throw new Error(`expected one ${type} starting with ${prefix}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  }
  return found[0][1];
}

export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every IAM statement of a role: inline policies plus AWS::IAM::Policy resources attached to it. */
export function roleStatements(t: Template, roleLogicalId: string): any[] {
  const role = resources(t)[roleLogicalId];
  const inline = asArray(role.Properties?.Policies).flatMap((p: any) => asArray(p.PolicyDocument.Statement));
  const attached = Object.values(resources(t, 'AWS::IAM::Policy'))
    .filter((p) => asArray(p.Properties.Roles).some((r: any) => r.Ref === roleLogicalId))
    .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement));
  return [...inline, ...attached];
}

export function roleActions(t: Template, roleLogicalId: string): string[] {
  return roleStatements(t, roleLogicalId).flatMap((s) => asArray<string>(s.Action));
}

export function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(resources(t, type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, got ${ids.join(', ')}`);
  return ids[0];
}
