import { join } from 'node:path';
import { readEnv } from '../common/env.js';
import { devServerPidFile, PortTaken, startDevServer, stopDevServer } from './lib/dev-server.js';

/**
 * `npm run dev-server`: Temporal's dev server with a persistent SQLite file and the project's search
 * attributes; its pid is recorded in <home>/temporal.pid. A port already taken is exit 1 with who holds
 * it. `npm run dev-server -- --stop` stops the server this project started (this one, or the demo's).
 */
const env = readEnv();
const pidFile = devServerPidFile(env.home);
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--stop');
if (unknown.length) {
  console.error(`[dev-server] unknown argument ${unknown.join(' ')}; usage: npm run dev-server [-- --stop]`);
  process.exit(2);
}
if (args.includes('--stop')) {
  try {
    console.log(`[dev-server] ${await stopDevServer(pidFile)}`);
    process.exit(0);
  } catch (e) {
    console.error(`[dev-server] ${(e as Error).message}`);
    process.exit(1);
  }
}
const port = env.temporalPort;
const uiPort = env.temporalUiPort ?? port + 1000;
let server;
try {
  server = await startDevServer({ port, uiPort, dbFile: join(env.home, 'temporal.sqlite'), logFile: join(env.home, 'temporal.log'), pidFile });
} catch (e) {
  console.error(`[dev-server] ${e instanceof PortTaken ? '' : 'cannot start: '}${(e as Error).message}`);
  process.exit(1);
}
console.log(`[dev-server] Temporal on ${server.address}, web UI http://localhost:${uiPort}, data ${join(env.home, 'temporal.sqlite')} (Ctrl-C stops it)`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.once('exit', (code) => process.exit(code ?? 1));
