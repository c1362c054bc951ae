#!/usr/bin/env node
// `npm run worker`: the worker (workers/main.ts) compiled into dist/ by scripts/build.mjs, rebuilt
// first when any file it was built from changed since. The workflows themselves are bundled by the
// Temporal SDK from workflows/index.ts at start, as before.
import { runBuilt } from './build.mjs';

await runBuilt('worker', { sourceMaps: true });
