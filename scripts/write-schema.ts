import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunConfigSchema } from '../common/config.js';
import { PROJECT_ROOT } from '../common/env.js';

/** configs/run-config.schema.json, generated from the one zod schema (a test keeps it in step). */
export function runConfigJsonSchema(): string {
  return JSON.stringify({ title: 'NanoFlux run config', ...z.toJSONSchema(RunConfigSchema, { io: 'input' }) }, null, 2) + '\n';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(join(PROJECT_ROOT, 'configs', 'run-config.schema.json'), runConfigJsonSchema());
  console.log('wrote configs/run-config.schema.json');
}
