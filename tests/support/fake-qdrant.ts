import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectionInfo, collectionNamed, count, createCollection, deletePoints, query, retrieve, scroll, upsert, type Collection } from './fake-qdrant-collection.js';
import { badRequest, HttpError, unsupported } from './fake-qdrant-points.js';
import { readBody } from './http.js';

/**
 * TEST DOUBLE — NOT QDRANT. A small in-memory stand-in for a Qdrant server's REST API, because no
 * Qdrant server can be installed in this environment. It lets the contract suite drive
 * QdrantVectorStore through the real `@qdrant/js-client-rest` client (its URL building, JSON
 * serialisation and error handling) over real HTTP.
 *
 * It implements only the endpoints, and the JSON shapes, that the client sends for the calls
 * QdrantVectorStore makes, copying Qdrant's documented behaviour:
 *
 *   GET  /collections/{name}/exists        → { exists }
 *   PUT  /collections/{name}               → true (400 "already exists" when it does)
 *   GET  /collections/{name}               → collection info (config.params.vectors.{size,distance})
 *   PUT  /collections/{name}/points?wait=  → { operation_id, status } (upsert: `points` or `batch`)
 *   POST /collections/{name}/points        → retrieve by ids (missing ids left out)
 *   POST /collections/{name}/points/query  → nearest neighbours of a plain dense vector
 *   POST /collections/{name}/points/delete?wait= → { operation_id, status } (by `points` ids)
 *   POST /collections/{name}/points/count  → { count }
 *   POST /collections/{name}/points/scroll → { points, next_page_offset } ordered by id
 *
 * Responses use Qdrant's envelope `{ result, status: 'ok', time }`; errors are
 * `{ status: { error }, time }`, with 404 "Not found: Collection `x` doesn't exist!" for a missing
 * collection and 400 for malformed input (wrong dimensions, bad point ids, float `match` values).
 * Cosine collections store normalised vectors and score by dot product, as Qdrant does, in float32.
 * Point ids are unsigned integers or UUIDs (returned lowercase, hyphenated); scroll order is by id,
 * integers before UUIDs. Filters: `must` / `should` / `must_not` lists of `{ key, match: { value } }`
 * (and `range`); anything else the fake does not implement is answered 501, so that a gap in the
 * double fails loudly instead of passing silently. Every request is recorded for assertions.
 */

export interface FakeQdrantRequest {
  method: string;
  /** Path and query string, e.g. `/collections/c/points?wait=true`. */
  path: string;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface FakeQdrant {
  url: string;
  requests: FakeQdrantRequest[];
  close(): Promise<void>;
}

// The server and its routes. What each endpoint does to a collection: fake-qdrant-collection.ts; point ids,
// vectors and the error answers: fake-qdrant-points.ts; filters: fake-qdrant-filter.ts.

export async function startFakeQdrant(): Promise<FakeQdrant> {
  const collections = new Map<string, Collection>();
  const requests: FakeQdrantRequest[] = [];

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const time = () => Number(process.hrtime.bigint() - started) / 1e9;
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const raw = await readBody(req);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch (e) {
          requests.push({ method: req.method ?? '', path: req.url ?? '', body: raw });
          throw badRequest(`Format error in JSON body: ${(e as Error).message}`);
        }
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      const url = new URL(req.url ?? '/', 'http://fake-qdrant');
      const result = route(req.method ?? 'GET', url, body);
      send(200, { result, status: 'ok', time: time() });
    } catch (e) {
      if (e instanceof HttpError) send(e.code, { status: { error: e.message }, time: time() });
      else send(500, { status: { error: `Service internal error: ${(e as Error).message}` }, time: time() });
    }
  }

  const collection = (name: string): Collection => collectionNamed(collections, name);

  function route(method: string, url: URL, body: unknown): unknown {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'collections' || parts.length < 2) throw unsupported(`${method} ${url.pathname}`);
    const name = parts[1]!;
    const rest = parts.slice(2).join('/');
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('Format error in JSON body: expected an object');

    switch (`${method} ${rest}`) {
      case 'GET exists':
        return { exists: collections.has(name) };
      case 'PUT ':
        return createCollection(collections, name, b);
      case 'GET ':
        return collectionInfo(collection(name));
      case 'PUT points':
        return upsert(collection(name), b, url.searchParams.get('wait') === 'true');
      case 'POST points':
        return retrieve(collection(name), b);
      case 'POST points/query':
        return query(collection(name), b);
      case 'POST points/delete':
        return deletePoints(collection(name), b, url.searchParams.get('wait') === 'true');
      case 'POST points/count':
        return count(collection(name), b);
      case 'POST points/scroll':
        return scroll(collection(name), b);
      default:
        throw unsupported(`${method} ${url.pathname}`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // The client's undici agent keeps connections alive: drop them so close() returns now.
        server.closeAllConnections();
      }),
  };
}
