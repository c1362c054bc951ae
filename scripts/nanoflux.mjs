#!/usr/bin/env node
// The `nanoflux` command: the CLI (scripts/cli.ts) compiled into dist/ by scripts/build.mjs, rebuilt
// first when any file it was built from changed since (a few stat calls when nothing did).
import { runBuilt } from './build.mjs';

await runBuilt('cli');
