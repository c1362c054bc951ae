import { describe, expect, it } from 'vitest';
import {
  ANSWER_FLOOR,
  ConversationMeter,
  DEFAULT_CHARS_PER_TOKEN,
  fitRequest,
  floorFor,
  marginOf,
  MAX_TOOL_OUTPUT_CHARS,
  MIN_TOOL_OUTPUT_CHARS,
  TOKENS_PER_MESSAGE,
  TokenRuler,
  TOOL_ROUND_MIN,
  toolOutputBudget,
  trimToolOutput,
  UNSET_MAX_CAP,
} from '../../activities/game/models/context-window.js';

/** The pure fitting rules of activities/game/models/context-window.ts, exhaustively over their boundaries. */

describe('fitRequest', () => {
  const W = 4096;
  const m = marginOf(W); // 123

  it('the margin is 3% of the window, at least 24', () => {
    expect(marginOf(4096)).toBe(123);
    expect(marginOf(256)).toBe(24);
    expect(marginOf(100_000)).toBe(3000);
  });

  it('the answer floor is 256, or what the ref asks when it asks for less', () => {
    expect(floorFor(undefined)).toBe(ANSWER_FLOOR);
    expect(floorFor(1000)).toBe(ANSWER_FLOOR);
    expect(floorFor(64)).toBe(64);
  });

  it('max_tokens is the ref\'s, lowered to what the window leaves, never above it', () => {
    for (const prompt of [0, 100, 1000, 2000, 3000, 3500, W - m - ANSWER_FLOOR]) {
      for (const requestedMax of [undefined, 16, 256, 512, 1024, 4096, 32768]) {
        const f = fitRequest({ window: W, promptTokens: prompt, toolTokens: 0, wantTools: false, requestedMax });
        const room = W - m - prompt;
        if (room < floorFor(requestedMax)) {
          expect(f.ok, `${prompt}/${requestedMax}`).toBe(false);
          continue;
        }
        expect(f, `${prompt}/${requestedMax}`).toMatchObject({ ok: true, offerTools: false });
        if (!f.ok) continue;
        if (requestedMax !== undefined) expect(f.maxTokens).toBe(Math.min(requestedMax, room));
        else expect(f.maxTokens).toBe(room < UNSET_MAX_CAP ? room : undefined);
        // What is sent always fits: prompt + max_tokens within the window less its margin.
        if (f.maxTokens !== undefined) expect(prompt + f.maxTokens).toBeLessThanOrEqual(W - m);
      }
    }
  });

  it('with nothing asked, a large window sends no max_tokens (the server default fits; a huge cap could exceed the model\'s output limit)', () => {
    expect(fitRequest({ window: 128_000, promptTokens: 2000, toolTokens: 0, wantTools: false })).toEqual({ ok: true, offerTools: false, maxTokens: undefined });
    expect(fitRequest({ window: 128_000, promptTokens: 2000, toolTokens: 0, wantTools: false, requestedMax: 900 })).toEqual({ ok: true, offerTools: false, maxTokens: 900 });
  });

  it('at the floor exactly it fits; one token more and it does not, naming the size and the room', () => {
    const edge = W - m - ANSWER_FLOOR;
    expect(fitRequest({ window: W, promptTokens: edge, toolTokens: 0, wantTools: false })).toEqual({ ok: true, offerTools: false, maxTokens: ANSWER_FLOOR });
    expect(fitRequest({ window: W, promptTokens: edge + 1, toolTokens: 0, wantTools: false })).toEqual({ ok: false, need: edge + 1 + ANSWER_FLOOR, room: ANSWER_FLOOR - 1, floor: ANSWER_FLOOR });
    expect(fitRequest({ window: W, promptTokens: 5000, toolTokens: 0, wantTools: false })).toMatchObject({ ok: false, room: 0 });
  });

  it('tools are offered only while a further round and the final answer fit, and their definitions count then', () => {
    const tools = 400;
    const lastWithTools = W - m - ANSWER_FLOOR - TOOL_ROUND_MIN - tools;
    const a = fitRequest({ window: W, promptTokens: lastWithTools, toolTokens: tools, wantTools: true, requestedMax: 1024 });
    expect(a).toEqual({ ok: true, offerTools: true, maxTokens: W - m - lastWithTools - tools });
    const b = fitRequest({ window: W, promptTokens: lastWithTools + 1, toolTokens: tools, wantTools: true, requestedMax: 1024 });
    // Without tools their definitions leave the prompt: more room for the answer, not less.
    expect(b).toEqual({ ok: true, offerTools: false, maxTokens: ANSWER_FLOOR + TOOL_ROUND_MIN + tools - 1 });
    expect(fitRequest({ window: W, promptTokens: 100, toolTokens: tools, wantTools: false, requestedMax: 1024 })).toMatchObject({ offerTools: false });
  });
});

describe('tool outputs', () => {
  it('without a window only the fixed cap applies', () => {
    expect(toolOutputBudget({ promptTokens: 10_000, outputs: 3, lastRound: false, charsPerToken: 3 })).toBe(MAX_TOOL_OUTPUT_CHARS);
  });

  it('a round takes half the room left above the final answer while more rounds may follow, all of it after the last', () => {
    const a = { window: 4096, promptTokens: 1000, outputs: 1, charsPerToken: 3 };
    const left = 4096 - marginOf(4096) - ANSWER_FLOOR - 1000 - 32 - TOKENS_PER_MESSAGE;
    expect(toolOutputBudget({ ...a, lastRound: false })).toBe(Math.min(MAX_TOOL_OUTPUT_CHARS, Math.floor(left / 2) * 3));
    expect(toolOutputBudget({ ...a, window: 8192, lastRound: true, promptTokens: 6000 })).toBe(Math.floor((8192 - marginOf(8192) - ANSWER_FLOOR - 6000 - 32 - TOKENS_PER_MESSAGE) * 3));
    // Shared among the round's outputs.
    const two = toolOutputBudget({ ...a, outputs: 2, lastRound: true });
    expect(two).toBe(Math.floor(((4096 - marginOf(4096) - ANSWER_FLOOR - 1000 - 32 - 2 * TOKENS_PER_MESSAGE) / 2) * 3));
  });

  it('never below the minimum, never above the cap', () => {
    expect(toolOutputBudget({ window: 4096, promptTokens: 4000, outputs: 1, lastRound: true, charsPerToken: 3 })).toBe(MIN_TOOL_OUTPUT_CHARS);
    expect(toolOutputBudget({ window: 1_000_000, promptTokens: 10, outputs: 1, lastRound: true, charsPerToken: 4 })).toBe(MAX_TOOL_OUTPUT_CHARS);
  });

  it('trimming keeps head and tail, says how much was cut and never exceeds the budget', () => {
    const text = `HEAD${'x'.repeat(10_000)}TAIL`;
    for (const max of [120, 500, 2000, 9999]) {
      const t = trimToolOutput(text, max);
      expect(t.length).toBeLessThanOrEqual(max);
      expect(t).toMatch(/^HEAD/);
      expect(t).toMatch(/TAIL$/);
      expect(t).toContain(`[${text.length - max} characters cut to fit the context window]`);
    }
    expect(trimToolOutput('short', 120)).toBe('short');
    expect(trimToolOutput(text, text.length)).toBe(text);
  });
});

describe('token estimates', () => {
  it('start at the default ratio and learn the smallest recent one, less 5%', () => {
    const r = new TokenRuler(3);
    expect(r.calibrated).toBe(false);
    expect(r.charsPerToken).toBe(DEFAULT_CHARS_PER_TOKEN);
    expect(r.estimate(3200, 2)).toBe(1000 + 2 * TOKENS_PER_MESSAGE);
    r.observe(4000, 1, 1000 + TOKENS_PER_MESSAGE); // 4 chars per token
    expect(r.calibrated).toBe(true);
    expect(r.charsPerToken).toBeCloseTo(3.8);
    r.observe(2000, 1, 1000 + TOKENS_PER_MESSAGE); // 2: digits
    expect(r.charsPerToken).toBeCloseTo(1.9);
    // Only the recent ones count: three more prose reports push the digit-heavy one out.
    for (let i = 0; i < 3; i++) r.observe(4000, 1, 1000 + TOKENS_PER_MESSAGE);
    expect(r.charsPerToken).toBeCloseTo(3.8);
  });

  it('ignore nonsense reports and clamp extreme ones', () => {
    const r = new TokenRuler();
    r.observe(1000, 2, 0);
    r.observe(0, 2, 100);
    r.observe(1000, 10, 5); // fewer tokens than the framing alone
    expect(r.calibrated).toBe(false);
    r.observe(100_000, 1, 1 + TOKENS_PER_MESSAGE);
    expect(r.charsPerToken).toBeCloseTo(8 * 0.95);
  });

  it('a conversation is anchored at the last reported size; only what was added since is estimated', () => {
    const meter = new ConversationMeter(new TokenRuler());
    expect(meter.estimate({ chars: 6400, messages: 2 })).toBe(2000 + 2 * TOKENS_PER_MESSAGE);
    meter.observe({ chars: 6400, messages: 2 }, 1800);
    const cpt = (6400 / (1800 - 2 * TOKENS_PER_MESSAGE)) * 0.95;
    expect(meter.estimate({ chars: 6400 + 1000, messages: 4 })).toBe(1800 + Math.ceil(1000 / cpt) + 2 * TOKENS_PER_MESSAGE);
    // Shorter than the anchor (tool definitions left out): taken at the anchor's size, never less.
    expect(meter.estimate({ chars: 5000, messages: 2 })).toBe(1800);
    // A report of nothing leaves the anchor alone.
    meter.observe({ chars: 9000, messages: 5 }, 0);
    expect(meter.estimate({ chars: 6400, messages: 2 })).toBe(1800);
  });
});
