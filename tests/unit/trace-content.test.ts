import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calculatorTool } from '../../activities/game/judge/calculator.js';
import { OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { readEnv } from '../../common/env.js';
import { installTracing } from '../../workers/tracing.js';
import { startScriptedOpenAI, type ScriptedOpenAI } from '../support/scripted-openai.js';

/**
 * Texts on spans (issue 17, item 4): only with OpenTelemetry's GenAI opt-in
 * (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true) do a request's messages and answer, and a
 * tool call's arguments and result, go on the spans; off (the default), none of them does.
 */
const exporter = new InMemorySpanExporter();
installTracing({ processor: new SimpleSpanProcessor(exporter) });

const Answer = z.strictObject({ answer: z.string().min(1), confidence: z.number().min(0).max(1) });
const QUESTION = 'Is 17*23 = 391? (question text 5b1e)';

describe('message content on spans', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => {
    server = await startScriptedOpenAI();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    exporter.reset();
    // One tool round, then the answer.
    server.script((r) => (r.messages.some((m) => m.role === 'tool') ? { json: { answer: 'yes (answer text 9c2d)', confidence: 0.9 } } : { toolCalls: [{ name: 'calculate', arguments: JSON.stringify({ expression: '17*23' }) }] }));
  });

  const ask = (captureContent: boolean) =>
    new OpenAIChatModel({ model: 'scripted-1', baseURL: server.baseURL, apiKey: 'sk-test-secret-77aa', timeoutMs: 5000, captureContent }).generate({
      messages: [{ role: 'system', content: 'ROLE: judge' }, { role: 'user', content: QUESTION }],
      schema: Answer,
      schemaName: 'answer',
      tools: [calculatorTool],
      maxToolRounds: 2,
    });

  it('is off by default: spans carry no text, and the variable reads false', async () => {
    expect(readEnv({}).traceContent).toBe(false);
    await ask(false);
    const spans = JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(expect.arrayContaining(['chat scripted-1', 'execute_tool calculate']));
    for (const text of ['5b1e', '9c2d', '17*23', 'ROLE:', 'sk-test-secret-77aa']) expect(spans).not.toContain(text);
  });

  it('with the opt-in, puts the messages, the answer and the tool call on the spans, never the key', async () => {
    expect(readEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'TRUE' }).traceContent).toBe(true);
    await ask(true);
    const spans = exporter.getFinishedSpans();
    const last = spans.filter((s) => s.name === 'chat scripted-1').at(-1)!;
    expect(String(last.attributes['gen_ai.input.messages'])).toContain('5b1e');
    expect(String(last.attributes['gen_ai.output.messages'])).toContain('9c2d');
    const tool = spans.find((s) => s.name === 'execute_tool calculate')!;
    expect(tool.attributes).toMatchObject({ 'gen_ai.tool.call.arguments': JSON.stringify({ expression: '17*23' }), 'gen_ai.tool.call.result': expect.stringContaining('391') });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('sk-test-secret-77aa');
  });

  it('refuses a value that is not true or false, naming the variable', () => {
    expect(() => readEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'yes' })).toThrow(/OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.*true or false/);
  });
});
