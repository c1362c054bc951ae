import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeMcpConnections, mcpTools } from '../../activities/game/judge/mcp.js';
import type { McpServerConfig } from '../../common/config.js';
import type { ToolSpec } from '../../activities/game/models/chat-model.js';

const fixture = fileURLToPath(new URL('../fixtures/mcp-lookup-server.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'nanoflux-mcp-'));

function byName(tools: ToolSpec[], name: string): ToolSpec {
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name} in ${tools.map((t) => t.name).join(', ')}`);
  return tool;
}

const parse = async (p: Promise<string>) => JSON.parse(await p) as { result?: unknown; error?: string };

afterAll(async () => {
  await closeMcpConnections();
  rmSync(tmp, { recursive: true, force: true });
});

describe('mcpTools over stdio', () => {
  const glossary: McpServerConfig = { name: 'glossary', transport: 'stdio', command: process.execPath, args: [fixture], passEnv: ['LOOKUP_TOKEN'] };
  const env = { ...process.env, LOOKUP_TOKEN: 'tok', SECRET_NOT_PASSED: 'x' };

  it('lists the tools as <server>__<tool> with JSON-schema parameters', async () => {
    const tools = await mcpTools([glossary], env);
    expect(tools.map((t) => t.name).sort()).toEqual(['glossary__echo_env', 'glossary__lookup']);
    const lookup = byName(tools, 'glossary__lookup');
    expect(lookup.description).toMatch(/glossary/);
    expect(lookup.parameters).toMatchObject({ type: 'object', properties: { term: { type: 'string' } }, required: ['term'] });
  });

  it('calls a tool; tool errors and bad arguments come back as {"error"}, never thrown', async () => {
    const lookup = byName(await mcpTools([glossary], env), 'glossary__lookup');
    expect(await parse(lookup.run({ term: 'GC content' }))).toEqual({ result: 'fraction of G and C bases' });
    expect((await parse(lookup.run({ term: 'nonsense' }))).error).toMatch(/unknown term/);
    expect((await parse(lookup.run({ term: 42 }))).error).toBeTruthy();
    expect((await parse(lookup.run('not an object'))).error).toMatch(/JSON object/);
  });

  it('hands the server only PATH/HOME and the passEnv variables', async () => {
    const echo = byName(await mcpTools([glossary], env), 'glossary__echo_env');
    const seen = JSON.parse(String((await parse(echo.run({}))).result)) as { LOOKUP_TOKEN: string; secretVisible: boolean; keys: string[] };
    expect(seen.LOOKUP_TOKEN).toBe('tok');
    expect(seen.secretVisible).toBe(false);
    for (const key of seen.keys) expect(['PATH', 'HOME', 'LOOKUP_TOKEN']).toContain(key);
  });

  it('a missing passEnv variable rejects, naming the variable', async () => {
    const cfg: McpServerConfig = { ...glossary, name: 'needs-var', passEnv: ['NANOFLUX_TEST_MISSING_VAR'] };
    await expect(mcpTools([cfg], env)).rejects.toThrow(/NANOFLUX_TEST_MISSING_VAR/);
  });

  it('a command that does not exist rejects, naming the server', async () => {
    const cfg: McpServerConfig = { name: 'ghost', transport: 'stdio', command: join(tmp, 'no-such-program'), args: [], passEnv: [] };
    await expect(mcpTools([cfg], env)).rejects.toThrow(/"ghost"/);
  });
});

describe('connection reuse', () => {
  it('spawns a server once per config, and reconnects after it dies', async () => {
    const log = join(tmp, 'spawns.log');
    const cfg: McpServerConfig = { name: 'counted', transport: 'stdio', command: process.execPath, args: [fixture], passEnv: ['LOOKUP_SPAWN_LOG'] };
    const env = { ...process.env, LOOKUP_SPAWN_LOG: log };
    const spawns = () => readFileSync(log, 'utf8').trim().split('\n').length;

    const first = await mcpTools([cfg], env);
    await mcpTools([cfg], env);
    expect(spawns()).toBe(1);

    const pidOf = async (tools: ToolSpec[]) =>
      (JSON.parse(String((await parse(byName(tools, 'counted__echo_env').run({}))).result)) as { pid: number }).pid;
    const pid = await pidOf(first);
    process.kill(pid, 'SIGKILL');

    // Whether or not the exit was noticed yet, the next listing reconnects.
    const again = await mcpTools([cfg], env);
    expect(spawns()).toBe(2);
    expect(await pidOf(again)).not.toBe(pid);
    // Tools listed before the crash use the new connection too.
    expect(await parse(byName(first, 'counted__lookup').run({ term: 'codon' }))).toMatchObject({ result: expect.stringMatching(/amino acid/) });
    expect(spawns()).toBe(2);
  });
});

describe('mcpTools over Streamable HTTP', () => {
  let http: Server;
  let url = '';
  const headersSeen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    // Stateless mode: a fresh server and transport per request, as the SDK's stateless example does.
    http = createServer((req, res) => {
      headersSeen.push(req.headers);
      void (async () => {
        const server = new McpServer({ name: 'units', version: '1.0.0' });
        server.registerTool(
          'double',
          { description: 'Double a number', inputSchema: { x: z.number() } },
          async ({ x }) => ({ content: [{ type: 'text', text: String(2 * x) }] }),
        );
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => void transport.close().then(() => server.close()));
        await server.connect(transport);
        await transport.handleRequest(req, res);
      })().catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(e));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  });

  afterAll(async () => {
    await closeMcpConnections(); // before the server goes, so the client closes cleanly
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('lists and calls a tool, sending the headers taken from the environment', async () => {
    const cfg: McpServerConfig = { name: 'units', transport: 'http', url, headersFromEnv: { 'X-Api-Key': 'UNITS_KEY' } };
    const tools = await mcpTools([cfg], { UNITS_KEY: 'secret-123' });
    expect(tools.map((t) => t.name)).toEqual(['units__double']);
    expect(await parse(byName(tools, 'units__double').run({ x: 21 }))).toEqual({ result: '42' });
    expect(headersSeen.length).toBeGreaterThan(0);
    for (const h of headersSeen) expect(h['x-api-key']).toBe('secret-123');
  });

  it('an unreachable server rejects, naming the server', async () => {
    // Bind then close a port, so nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const cfg: McpServerConfig = { name: 'offline', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headersFromEnv: {} };
    await expect(mcpTools([cfg], {})).rejects.toThrow(/"offline".*cannot be reached/);
  });
});
