import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunConfigSchema } from '../common/config.js';
import { PROJECT_ROOT } from '../common/env.js';
import { configReferenceMarkdown, withReference } from './config-reference.js';
import { readmeWithEnvReference } from './env-reference.js';

/** configs/run-config.schema.json, generated from the one zod schema (a test keeps it in step). */
export function runConfigJsonSchema(): string {
  return JSON.stringify({ title: 'NanoFlux run config', ...z.toJSONSchema(RunConfigSchema, { io: 'input' }) }, null, 2) + '\n';
}

/** The document that holds the configuration reference. */
export const CONFIG_DOC = join(PROJECT_ROOT, 'docs', 'configuration.md');

/** docs/configuration.md as it should be: its configuration reference regenerated from the schema. */
export function configDocWithReference(): string {
  return withReference(readFileSync(CONFIG_DOC, 'utf8'), configReferenceMarkdown(JSON.parse(runConfigJsonSchema())));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(join(PROJECT_ROOT, 'README.md'), readmeWithEnvReference());
  console.log('wrote the environment table in README.md');
  writeFileSync(join(PROJECT_ROOT, 'configs', 'run-config.schema.json'), runConfigJsonSchema());
  writeFileSync(CONFIG_DOC, configDocWithReference());
  console.log('wrote configs/run-config.schema.json and the configuration reference in docs/configuration.md');
}
