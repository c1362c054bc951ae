import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apply, type Detail, expressionOf, gradeSteps, numberIn, readProblem, rng, writeProblem } from './problems.js';

/**
 * The paper rehearsal's stand-in for the paid frontier models (GPT-4.1, Claude, o4-mini): an
 * OpenAI-compatible server on loopback that plays whichever role a request asks for, by its
 * response schema. It is a test double standing where a paid service would, and is named as one in
 * everything the rehearsal prints. What it answers is computed, not canned: the Attacker writes a
 * seeded word problem (scripts/lib/stand-in/problems.ts) at about the complexity asked, the
 * Defender and the Judge read the problem back from the question's text, and the Judge recomputes
 * it with NanoFlux's own `exact_arithmetic` tool (a real tool round through the Judge's loop)
 * before it grades. A question outside that grammar (the embedded model's) it cannot check, and
 * says so with questionValid false.
 */

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
  response_format?: { json_schema?: { name?: string; schema?: { properties?: Record<string, unknown> } } };
}

export interface StandIn {
  baseURL: string;
  /** Requests answered, by the schema they asked for (attack, defense, verdict, preflight). */
  served: Record<string, number>;
  close(): Promise<void>;
}

const DETAILS: Detail[] = ['explained', 'explained', 'terse', 'gaps'];

/** The text between <<<LABEL and LABEL>>> (activities/game/prompts.ts's fence), last occurrence. */
const fenced = (text: string, label: string): string | undefined => [...text.matchAll(new RegExp(`<<<${label}\\n([\\s\\S]*?)\\n${label}>>>`, 'g'))].at(-1)?.[1];

const approxTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export function answer(body: ChatBody, seq: number): { json: unknown } | { toolCall: { name: string; arguments: string } } {
  const schema = body.response_format?.json_schema;
  const text = body.messages.map((m) => m.content ?? '').join('\n');
  switch (schema?.name) {
    case 'attack':
      return { json: attack(text, seq, 'program' in (schema.schema?.properties ?? {})) };
    case 'defense':
      return { json: defend(fenced(text, 'QUESTION') ?? '') };
    case 'verdict':
      return judge(body, text);
    default:
      return { json: { ok: true } };
  }
}

function attack(prompt: string, seq: number, withProgram: boolean) {
  const target = Number(/Target complexity \(1-5\): (\d)/.exec(prompt)?.[1] ?? 3);
  const r = rng(7919 * (seq + 1));
  // About the complexity asked, spread one level either way: the ablation needs several levels.
  const opsCount = Math.min(5, Math.max(1, target - 1 + Math.floor(r() * 3)));
  const p = writeProblem(104729 + seq, opsCount, DETAILS[Math.floor(r() * DETAILS.length)]!);
  return { question: p.question, referenceAnswer: String(p.answer), solutionSteps: p.steps, skill: `${opsCount}-step arithmetic on a running total`, annotation: p.annotation, ...(withProgram ? { program: p.program } : {}) };
}

function defend(question: string) {
  const p = readProblem(question);
  if (!p) return { reasoning: 'The stand-in Defender reads only the stand-in grammar; this question is outside it.', answer: 'unknown' };
  const value = p.ops.reduce(apply, p.start);
  return { reasoning: `Applying the changes in order: ${expressionOf(p)} = ${value}.`, answer: String(value) };
}

function judge(body: ChatBody, text: string): { json: unknown } | { toolCall: { name: string; arguments: string } } {
  const question = fenced(text, 'QUESTION') ?? '';
  const p = readProblem(question);
  const defenders = [...text.matchAll(/<<<DEFENDER_(?:\d+_)?ANSWER\n([\s\S]*?)\nDEFENDER_(?:\d+_)?ANSWER>>>/g)].map((m) => m[1]!);
  const verdict = (fields: { questionValid: boolean; referenceCorrect: boolean; right: (a: string) => boolean; complexity: number; quality: number; explanation: string }) => {
    const flags = defenders.map(fields.right);
    const scores = { questionValid: fields.questionValid, referenceCorrect: fields.referenceCorrect, complexity: fields.complexity, hops: fields.complexity, quality: fields.quality, explanation: fields.explanation };
    return { json: defenders.length > 1 ? { ...scores, defendersCorrect: flags } : { ...scores, defenderCorrect: flags[0] ?? false } };
  };
  if (!p) {
    return verdict({ questionValid: false, referenceCorrect: false, right: () => false, complexity: 1, quality: 1, explanation: 'The stand-in Judge checks only questions in the stand-in grammar (scripts/lib/stand-in/problems.ts); this one it cannot verify.' });
  }
  const toolResult = body.messages.filter((m) => m.role === 'tool').at(-1)?.content;
  const offered = body.tools?.some((t) => t.function.name === 'exact_arithmetic');
  if (offered && !toolResult) return { toolCall: { name: 'exact_arithmetic', arguments: JSON.stringify({ expression: expressionOf(p) }) } };
  const recomputed = toolResult ? numberIn(/"(?:fraction|decimal)":\s*"([^"]+)"/.exec(toolResult)?.[1] ?? '') : undefined;
  const reference = numberIn(fenced(text, 'REFERENCE_ANSWER') ?? '');
  const steps = (fenced(text, 'REFERENCE_STEPS') ?? '').split('\n').map((s) => s.replace(/^\d+\.\s*/, '')).filter((s) => s !== '');
  const checked = recomputed !== undefined;
  return verdict({
    questionValid: true,
    referenceCorrect: checked && reference === recomputed,
    right: (a) => checked && numberIn(a) === recomputed,
    complexity: Math.min(5, p.ops.length),
    quality: gradeSteps(steps, p.ops.length),
    explanation: checked ? `Recomputed ${expressionOf(p)} = ${recomputed} with exact_arithmetic; the reference says ${reference}.` : 'The exact_arithmetic tool gave no value, so nothing could be confirmed.',
  });
}

function completion(body: ChatBody, a: ReturnType<typeof answer>, seq: number) {
  const content = 'json' in a ? JSON.stringify(a.json) : null;
  const message = 'json' in a ? { role: 'assistant', content } : { role: 'assistant', content: null, tool_calls: [{ id: `call_${seq}`, type: 'function', function: a.toolCall }] };
  const prompt = approxTokens(JSON.stringify(body.messages));
  const out = approxTokens(content ?? JSON.stringify(a));
  return {
    id: `chatcmpl-standin-${seq}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{ index: 0, message, finish_reason: 'json' in a ? 'stop' : 'tool_calls' }],
    usage: { prompt_tokens: prompt, completion_tokens: out, total_tokens: prompt + out },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Starts the stand-in on a free loopback port. */
export async function startStandIn(models: string[]): Promise<StandIn> {
  const served: Record<string, number> = {};
  let seq = 0;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') return send(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model' })) });
    if (req.method !== 'POST' || path !== '/v1/chat/completions') return send(res, 404, { error: { message: `the stand-in serves POST /v1/chat/completions only, not ${req.method} ${path}` } });
    readJson(req).then(
      (body) => {
        const b = body as ChatBody;
        const n = seq++;
        const name = b.response_format?.json_schema?.name ?? 'other';
        served[name] = (served[name] ?? 0) + 1;
        send(res, 200, completion(b, answer(b, n), n));
      },
      (e: unknown) => send(res, 400, { error: { message: `bad request body: ${e instanceof Error ? e.message : String(e)}` } }),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, served, close: () => new Promise((ok) => server.close(() => ok())) };
}
