import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { DEFAULT_INHERITED_ENV_VARS, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerConfig } from '../../../common/config.js';
import type { ToolSpec } from '../models/chat-model.js';
import { MAX_TOOL_OUTPUT_CHARS } from '../models/context-window.js';

/**
 * The Judge's MCP tools: each configured MCP server's tools, wrapped as ToolSpecs.
 *
 * Connections live for the worker process (spawning a stdio server per episode would cost more than
 * the tool calls) and are keyed by the server's config. A connection that dies is dropped from the
 * cache, so the next use reconnects instead of failing forever.
 */

export const CALL_TIMEOUT_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 20_000;
/** Tool output handed back to the model is capped: a tool must not flood the Judge's context (the chat layer's own cap, one number). */
const MAX_OUTPUT_CHARS = MAX_TOOL_OUTPUT_CHARS;
/** OpenAI function names: ^[a-zA-Z0-9_-]{1,64}$. */
const MAX_NAME_LENGTH = 64;

interface Connection {
  client: Client;
  /** Set once the connection is known dead, so late callers do not reuse it. */
  dead: boolean;
}

const connections = new Map<string, Promise<Connection>>();

const keyOf = (server: McpServerConfig): string => JSON.stringify(server);

function requireEnv(env: NodeJS.ProcessEnv, name: string, server: string): string {
  const value = env[name];
  // Name the variable, never print a value: these are usually API keys.
  if (value === undefined) throw new Error(`MCP server "${server}": environment variable ${name} is not set`);
  return value;
}

/** The child's environment: PATH and HOME (so it can find programs and its config) plus passEnv, nothing else. */
function stdioEnv(server: Extract<McpServerConfig, { transport: 'stdio' }>, env: NodeJS.ProcessEnv): Record<string, string> {
  // The SDK merges its own defaults (USER, SHELL, TERM, …) taken from process.env under ours; mapping
  // them to undefined removes them, because child_process.spawn skips undefined values.
  const out: Record<string, string | undefined> = Object.fromEntries(DEFAULT_INHERITED_ENV_VARS.map((k) => [k, undefined]));
  for (const k of ['PATH', 'HOME']) if (env[k] !== undefined) out[k] = env[k];
  for (const name of server.passEnv) out[name] = requireEnv(env, name, server.name);
  return out as Record<string, string>;
}

function transportFor(server: McpServerConfig, env: NodeJS.ProcessEnv): Transport {
  if (server.transport === 'stdio') {
    return new StdioClientTransport({ command: server.command, args: server.args, env: stdioEnv(server, env) });
  }
  const headers: Record<string, string> = {};
  for (const [header, name] of Object.entries(server.headersFromEnv)) headers[header] = requireEnv(env, name, server.name);
  return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // fetch failures hide the useful part (ECONNREFUSED, …) in `cause`.
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`;
}

async function open(server: McpServerConfig, env: NodeJS.ProcessEnv, key: string): Promise<Connection> {
  const transport = transportFor(server, env); // throws on a missing variable, before anything starts
  const client = new Client({ name: 'nanoflux-judge', version: '0.1.0' });
  const conn: Connection = { client, dead: false };
  // The server exiting (stdio) or the session ending: forget the connection so the next use reconnects.
  client.onclose = () => drop(key, conn);
  try {
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  } catch (e) {
    await client.close().catch(() => {}); // a half-started child must not be left behind
    throw new Error(`MCP server "${server.name}" cannot be reached: ${describe(e)}`, { cause: e });
  }
  return conn;
}

function drop(key: string, conn: Connection): void {
  if (conn.dead) return;
  conn.dead = true;
  // Only remove the entry if it is still this connection (a reconnect may already have replaced it).
  const cached = connections.get(key);
  if (cached) void cached.then((c) => { if (c === conn) connections.delete(key); }, () => {});
  void conn.client.close().catch(() => {});
}

async function connection(server: McpServerConfig, env: NodeJS.ProcessEnv): Promise<{ conn: Connection; fresh: boolean }> {
  const key = keyOf(server);
  // Loop: while we awaited a cached entry, another caller may have replaced it with a live one.
  for (let cached = connections.get(key); cached; cached = connections.get(key)) {
    const conn = await cached.catch(() => undefined);
    if (conn && !conn.dead) return { conn, fresh: false };
    if (connections.get(key) === cached) connections.delete(key);
  }
  // Cache the promise, not the result: concurrent callers share one connect (one spawned child).
  const pending = open(server, env, key);
  connections.set(key, pending);
  pending.catch(() => { if (connections.get(key) === pending) connections.delete(key); });
  return { conn: await pending, fresh: true };
}

/** Errors that mean the connection is gone (as opposed to the server rejecting one request). */
function isConnectionError(e: unknown): boolean {
  if (e instanceof McpError) return e.code === ErrorCode.ConnectionClosed;
  // Anything else thrown by the client is the transport failing: fetch errors, HTTP errors, a dead pipe.
  return true;
}

function toolName(server: string, tool: string, taken: Set<string>): string {
  const base = `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_NAME_LENGTH);
  let name = base;
  // Sanitising or truncating can make two tools collide; a suffix keeps every name unique.
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, MAX_NAME_LENGTH - String(i).length - 1)}_${i}`;
  taken.add(name);
  return name;
}

function cap(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  return `${text.slice(0, MAX_OUTPUT_CHARS)}… [truncated ${text.length - MAX_OUTPUT_CHARS} characters]`;
}

interface CallResult {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
  /** Servers on the 2024-10-07 protocol answer with `toolResult` instead of content. */
  toolResult?: unknown;
}

/** The result as JSON text for the model: structured content when the tool gives it, else its text. */
function render(result: CallResult): string {
  const parts = Array.isArray(result.content) ? (result.content as Array<{ type?: string; text?: unknown }>) : [];
  const text = parts.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : `[${p.type ?? 'unknown'} content omitted]`)).join('\n');
  if (result.isError) return JSON.stringify({ error: cap(text || 'the tool reported an error') });
  const structured = result.structuredContent ?? result.toolResult;
  if (structured !== undefined) {
    const json = JSON.stringify({ result: structured });
    if (json.length <= MAX_OUTPUT_CHARS) return json;
    return JSON.stringify({ result: cap(JSON.stringify(structured)) });
  }
  return JSON.stringify({ result: cap(text) });
}

function wrap(server: McpServerConfig, env: NodeJS.ProcessEnv, tool: { name: string; description?: string; inputSchema: Record<string, unknown> }, name: string): ToolSpec {
  return {
    name,
    description: `[${server.name}] ${tool.description ?? tool.name}`,
    parameters: tool.inputSchema,
    async run(args: unknown): Promise<string> {
      // Never throws: an error is text the Judge can read and act on.
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        return JSON.stringify({ error: `${name}: arguments must be a JSON object` });
      }
      let conn: Connection | undefined;
      try {
        // Looked up per call, so a tool list obtained earlier keeps working after a reconnect.
        conn = (await connection(server, env)).conn;
        const result = await conn.client.callTool(
          { name: tool.name, arguments: (args ?? {}) as Record<string, unknown> },
          undefined,
          { timeout: CALL_TIMEOUT_MS },
        );
        return render(result);
      } catch (e) {
        // No retry here: the call may have run before the connection died, and tools may have effects.
        if (conn && isConnectionError(e)) drop(keyOf(server), conn);
        return JSON.stringify({ error: cap(`${name}: ${describe(e)}`) });
      }
    },
  };
}

async function listTools(server: McpServerConfig, env: NodeJS.ProcessEnv) {
  const { conn, fresh } = await connection(server, env);
  try {
    return (await conn.client.listTools(undefined, { timeout: CALL_TIMEOUT_MS })).tools;
  } catch (e) {
    if (!isConnectionError(e)) throw new Error(`MCP server "${server.name}": listing tools failed: ${describe(e)}`, { cause: e });
    drop(keyOf(server), conn);
    // A cached connection may have died unnoticed; listing is harmless to repeat, so reconnect once.
    if (fresh) throw new Error(`MCP server "${server.name}" cannot be reached: ${describe(e)}`, { cause: e });
    return listTools(server, env);
  }
}

/** The tools of every server, named `<server>__<tool>`. Throws (naming the server) if one cannot be reached. */
export async function mcpTools(servers: McpServerConfig[], env: NodeJS.ProcessEnv = process.env): Promise<ToolSpec[]> {
  const lists = await Promise.all(servers.map(async (server) => ({ server, tools: await listTools(server, env) })));
  const taken = new Set<string>();
  return lists.flatMap(({ server, tools }) =>
    tools.map((tool) => wrap(server, env, tool, toolName(server.name, tool.name, taken))),
  );
}

/** Closes every cached connection (stdio servers exit). Workers call this at shutdown. */
export async function closeMcpConnections(): Promise<void> {
  const pending = [...connections.values()];
  connections.clear();
  const settled = await Promise.allSettled(pending);
  await Promise.all(
    settled.map((s) => {
      if (s.status !== 'fulfilled') return undefined;
      s.value.dead = true;
      return s.value.client.close().catch(() => {});
    }),
  );
}
