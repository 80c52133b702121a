#!/usr/bin/env node
// Prints config/temporal-dynamic-config.yaml as `temporal server start-dev` flags, one per line
// (the dev server takes dynamic config only as --dynamic-config-value KEY=JSON_VALUE).
const { readFileSync } = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const settings = YAML.parse(readFileSync(path.join(__dirname, '../config/temporal-dynamic-config.yaml'), 'utf8'));
for (const [key, values] of Object.entries(settings)) {
  const unconstrained = values.find((v) => !v.constraints || Object.keys(v.constraints).length === 0);
  if (!unconstrained) throw new Error(`${key}: the dev server takes only values without constraints`);
  console.log('--dynamic-config-value');
  console.log(`${key}=${JSON.stringify(unconstrained.value)}`);
}
