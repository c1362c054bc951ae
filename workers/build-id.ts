import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../common/env.js';

/** What decides how a worker behaves: its workflows, activities, prompts, trainer and locked dependencies. */
const BUILD_SOURCES = ['workflows', 'activities', 'common', 'workers', 'prompts', join('trainer', 'nanoflux_trainer'), 'package-lock.json'];

function files(root: string, path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .filter((name) => !name.startsWith('.') && name !== '__pycache__' && name !== 'node_modules')
    .flatMap((name) => files(root, join(path, name)));
}

/**
 * This checkout's build id for Worker Versioning (workers/deployment.ts): the package version and a
 * hash of every source file that decides what a worker does, so two workers share a build id exactly
 * when they run the same code, whatever the host, and an edited checkout is a new build. Computed
 * from the files (no git needed: a deployed copy may have none); NANOFLUX_BUILD_ID overrides it.
 */
export function sourceBuildId(root: string = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  for (const f of BUILD_SOURCES.flatMap((p) => files(root, p)).sort()) {
    hash.update(relative(root, join(root, f))).update('\0').update(readFileSync(join(root, f))).update('\0');
  }
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0';
  return `${version}-${hash.digest('hex').slice(0, 12)}`;
}
