#!/usr/bin/env node
// Stack outputs (the JSON `cdk deploy --outputs-file` writes, or `aws cloudformation describe-stacks`)
// -> the SPA's .env lines. Usage: outputs-to-env.js <outputs.json> <stackName> [<env file>]
// Without an env file the lines go to stdout.
'use strict';
const fs = require('fs');

const MAPPING = [
  ['REACT_APP_API_BASE_URL', 'apiBaseUrl'],
  ['REACT_APP_CHANNEL_TYPE', 'channelType'],
  ['REACT_APP_COGNITO_USER_POOL_CLIENT_ID', 'userPoolClientId'],
  ['REACT_APP_COGNITO_USER_POOL_ID', 'userPoolId'],
  ['REACT_APP_REGION', 'region'],
  ['REACT_APP_STAGE', 'stage'],
  ['REACT_APP_ENABLE_AMAZON_PRODUCT_STREAM_ACTION', 'enableAmazonProductStreamAction'],
];

function outputsOf(doc, stackName) {
  // cdk --outputs-file: {"<stack>": {"key": "value"}}
  if (doc && typeof doc[stackName] === 'object' && !Array.isArray(doc[stackName])) return doc[stackName];
  // describe-stacks: {"Stacks": [{"Outputs": [{"OutputKey", "OutputValue"}]}]}
  const stack = doc && Array.isArray(doc.Stacks) ? doc.Stacks.find((s) => s.StackName === stackName) : undefined;
  if (stack) return Object.fromEntries((stack.Outputs || []).map((o) => [o.OutputKey, o.OutputValue]));
  return undefined;
}

function main(argv) {
  const [file, stackName, envFile] = argv;
  if (!file || !stackName) {
    console.error('usage: outputs-to-env.js <outputs.json> <stackName> [<env file>]');
    return 2;
  }
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`error: cannot read ${file}: ${err.message}`);
    return 1;
  }
  const outputs = outputsOf(doc, stackName);
  if (!outputs) {
    console.error(`error: no outputs for stack ${stackName} in ${file}`);
    return 1;
  }
  const missing = MAPPING.filter(([, key]) => outputs[key] === undefined).map(([, key]) => key);
  if (missing.length) {
    console.error(`error: stack ${stackName} lacks the outputs ${missing.join(', ')}`);
    return 1;
  }
  const text = MAPPING.map(([name, key]) => `${name}=${outputs[key]}`).join('\n') + '\n';
  if (envFile) {
    fs.writeFileSync(envFile, text);
    console.error(`wrote ${envFile}`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
