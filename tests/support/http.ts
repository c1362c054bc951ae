import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer } from 'node:net';

/** The whole body of a request to one of the test servers. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A port nothing listens on now (asked of the kernel, then released), for a server a test starts. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** An OTLP/HTTP collector on loopback that keeps every body it is sent, raw, as the exporters send them. */
export async function startOtlpSink(): Promise<{ url: string; bodies: () => string; close(): Promise<void> }> {
  const received: string[] = [];
  const server = createHttpServer((req, res) => {
    void readBody(req).then((b) => {
      received.push(b);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bodies: () => received.join('\n'), close: () => new Promise((r) => server.close(() => r())) };
}
