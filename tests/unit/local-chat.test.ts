import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calculatorTool } from '../../activities/game/judge/calculator.js';
import { LocalChatModel } from '../../activities/game/models/local-chat.js';

// The real embedded model (SmolLM2-135M, CPU): proves the grammar path end to end. Kept small so it stays quick.
describe('LocalChatModel (SmolLM2-135M GGUF)', () => {
  const model = new LocalChatModel({ model: 'smollm2-135m' });
  const schema = z.strictObject({ answer: z.string().min(1).max(60) });

  it('returns a schema-valid answer and counts tokens', async () => {
    const started = Date.now();
    const r = await model.generate({
      messages: [
        { role: 'system', content: 'ROLE: defender\nYou answer briefly.' },
        { role: 'user', content: 'What is the capital of France? Reply as JSON.' },
      ],
      schema,
      schemaName: 'answer',
      maxOutputTokens: 64,
    });
    expect(schema.safeParse(r.value).success).toBe(true);
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(r.attempts).toBeGreaterThanOrEqual(1);
    console.log(`local generate: ${Date.now() - started} ms, ${JSON.stringify(r.usage)}, value ${JSON.stringify(r.value)}`);
  }, 60_000);

  it('serialises concurrent requests on one loaded model', async () => {
    const ask = (q: string) =>
      model.generate({ messages: [{ role: 'user', content: q }], schema, schemaName: 'answer', maxOutputTokens: 96 });
    const rs = await Promise.all([ask('Name a colour.'), ask('Name an animal.')]);
    for (const r of rs) expect(schema.safeParse(r.value).success).toBe(true);
  }, 60_000);

  it('runs a tool phase then a structured answer', async () => {
    const r = await model.generate({
      messages: [{ role: 'user', content: 'Use the calculate tool to compute 17*23, then answer.' }],
      schema,
      schemaName: 'answer',
      maxOutputTokens: 64,
      tools: [calculatorTool],
      maxToolRounds: 2,
    });
    // The tiny model may or may not call the tool; the answer must still be schema-valid and bounded.
    expect(schema.safeParse(r.value).success).toBe(true);
    expect(r.toolCalls.length).toBeLessThanOrEqual(2);
    console.log(`local tool phase: ${r.toolCalls.length} tool call(s), value ${JSON.stringify(r.value)}`);
  }, 60_000);
});
