import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { installTracing } from '../../workers/tracing.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';

/**
 * Traces (issue 17, item 2) with the OpenTelemetry SDK's in-memory exporter installed as the
 * worker would install its OTLP one, Temporal's interceptors on the client, the workflows (bundled
 * with them) and the activities: one trace from the client's start through the run's, the domain's
 * and the episode's workflows to each model request (gen_ai attributes) and Judge tool call, whose id
 * the accepted example records.
 */
process.env.NANOFLUX_TEST_KEY = 'test-key-value';
// report.html links each episode's trace where a tracing UI is named (the workers read it at start).
process.env.NANOFLUX_TRACE_URL = 'http://jaeger.test/trace/{traceId}';
const exporter = new InMemorySpanExporter();
const tracing = installTracing({ processor: new SimpleSpanProcessor(exporter), serviceName: 'nanoflux-test' });

describe('traces', () => {
  const f = useGameFixture('wf-traces', { tracing });

  it('one trace from the client through the workflows to each model call and tool call, its id on the stored example, gen_ai attributes and no secrets', async () => {
    scriptGame(f.server);
    // Every Judge checks with a tool first: whichever episode is accepted has a tool call in its trace.
    f.server.intercept((r) => (r.role === 'judge' && !r.body.messages.some((m: { role: string }) => m.role === 'tool') ? { toolCalls: [{ name: 'calculate', arguments: JSON.stringify({ expression: '45-3' }) }] } : undefined));
    const config = testConfig(f.server.baseURL, 'traced', { generation: { targetAccepted: 1, maxEpisodes: 5, concurrency: 1 } });
    await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('traced'), args: [config] });

    const example = JSON.parse(readFileSync(join(f.workers.home, 'runs', 'traced', 'examples.jsonl'), 'utf8').trim().split('\n')[0]!) as { id: string; provenance: { traceId?: string; spanId?: string; workflowId: string; episode: number } };
    const traceId = example.provenance.traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    /** A span and its ancestors up to the trace's root, each a parent of the one before. */
    const lineage = (s: ReadableSpan): ReadableSpan[] => {
      const line = [s];
      for (let p = byId.get(parentOf(s) ?? ''); p; p = byId.get(parentOf(p) ?? '')) line.push(p);
      return line;
    };
    const ancestry = (s: ReadableSpan): string[] => lineage(s).map((p) => p.name);
    // The whole run is one trace; the accepted episode's spans are those under its workflow's.
    const episode = inTrace.find((s) => s.name === 'RunWorkflow:episodeWorkflow' && s.attributes.temporalWorkflowId === example.provenance.workflowId)!;
    expect(episode).toBeDefined();
    const spans = inTrace.filter((s) => lineage(s).includes(episode));
    const named = (name: string) => spans.filter((s) => s.name === name);

    // The roles' calls, each inside its activity's attempt, inside the episode workflow, up to the client's start.
    const roles = ['nanoflux.attacker', 'nanoflux.defender', 'nanoflux.judge'].map((n) => named(n)[0]!);
    expect(roles.every(Boolean)).toBe(true);
    const chain = ancestry(roles[2]!);
    expect(chain.slice(0, 3)).toEqual(['nanoflux.judge', 'RunActivity:judge', 'StartActivity:judge']);
    expect(chain).toContain('RunWorkflow:episodeWorkflow');
    expect(chain).toContain('StartChildWorkflow:episodeWorkflow');
    expect(chain).toContain('RunWorkflow:nanofluxRun');
    expect(chain.at(-1)).toBe('StartWorkflow:nanofluxRun');
    expect(parentOf(inTrace.find((s) => s.name === 'StartWorkflow:nanofluxRun')!)).toBeUndefined(); // the client's start is the trace's root
    for (const r of roles) expect(r.attributes).toMatchObject({ 'nanoflux.run': 'traced', 'nanoflux.domain': 'math', 'nanoflux.episode': example.provenance.episode, 'gen_ai.system': 'openai' });
    const judge = roles[2]!;
    expect(judge.attributes['gen_ai.request.model']).toBe('judge');

    // Each request a CLIENT span under its role, with the gen_ai request and usage attributes.
    const chats = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(chats.length).toBe(4); // attack, defend, the Judge's tool round and its verdict
    for (const c of chats) {
      expect(c.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai' });
      expect(c.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(c.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
      expect(roles.map((r) => r.spanContext().spanId)).toContain(parentOf(c));
    }
    expect(chats.filter((c) => parentOf(c) === judge.spanContext().spanId)).toHaveLength(2);

    // The Judge's tool call, under the Judge's span.
    const [tool] = named('execute_tool calculate');
    expect(tool?.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'calculate' });
    expect(parentOf(tool!)).toBe(judge.spanContext().spanId);

    // The episode's end: its outcome and the example it stored; the example names the span of its store step.
    const ends = named('nanoflux.episode');
    expect(ends.map((e) => e.attributes['nanoflux.outcome'])).toContain('accepted');
    const stored = byId.get(example.provenance.spanId!);
    expect(stored?.name).toBe('RunActivity:storeExample');
    expect(ancestry(stored!)).toContain('RunWorkflow:episodeWorkflow');

    // A row leads to its trace: report.html links the accepted episode's.
    const html = readFileSync(join(f.workers.home, 'runs', 'traced', 'report.html'), 'utf8');
    expect(html).toContain(`href="http://jaeger.test/trace/${traceId}"`);

    // Tracing adds headers, never commands or waits: the traced run's histories replay on the untraced bundle.
    let replayed = 0;
    for await (const w of f.tc.client.workflow.list({ query: 'NanofluxRunId="traced"' })) {
      const history = await f.tc.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, w.workflowId);
      replayed++;
    }
    expect(replayed).toBeGreaterThanOrEqual(3); // the run, its domain loop, its episodes

    // No key, no prompt text: attributes are names, models, counts and ids.
    const all = JSON.stringify(exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })));
    expect(all).not.toContain('test-key-value');
    expect(all).not.toContain('ROLE:');
  }, 120_000);
});
