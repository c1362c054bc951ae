import { join } from 'node:path';
import { readEnv } from '../common/env.js';
import { startDevServer } from './lib/dev-server.js';

/** `npm run dev-server`: Temporal's dev server with a persistent SQLite file and the project's search attributes. */
const env = readEnv();
const port = env.temporalPort;
const uiPort = env.temporalUiPort ?? port + 1000;
const server = await startDevServer({ port, uiPort, dbFile: join(env.home, 'temporal.sqlite'), logFile: join(env.home, 'temporal.log') });
console.log(`[dev-server] Temporal on ${server.address}, web UI http://localhost:${uiPort}, data ${join(env.home, 'temporal.sqlite')} (Ctrl-C stops it)`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.once('exit', (code) => process.exit(code ?? 1));
