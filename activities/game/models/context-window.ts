/**
 * Keeping a conversation within a model's context window (prompt + answer), as pure arithmetic on
 * token estimates: no I/O, so every rule here is unit-tested on its own (tests/unit/context-window.test.ts).
 *
 * Why estimates: an OpenAI-compatible server does not tokenize for us before the request, and a
 * second request per call to its /tokenize (llama.cpp only) would double the traffic. Instead a
 * conversation is measured in characters and converted with a chars-per-token ratio that starts
 * conservative and is corrected by what the server reports (`usage.prompt_tokens`, or the
 * `n_prompt_tokens` of a refusal). Within one conversation the last request's reported size anchors
 * the next estimate, so only the text added since is estimated.
 */

/** Below this many tokens left for the answer, a request is not sent: a JSON verdict or defense does not fit in less. */
export const ANSWER_FLOOR = 256;
/** A tool round is only offered when at least this much would be left after it for the call and a useful output. */
export const TOOL_ROUND_MIN = 192;
/** With no maxOutputTokens asked for, max_tokens is only sent when the room left is below this (above, the server's default fits, and a larger cap than a model's output limit would be refused). */
export const UNSET_MAX_CAP = 4096;
/** Chars per token before the server has told us anything: English is ~4 on common tokenizers; digits, code and JSON run lower. */
export const DEFAULT_CHARS_PER_TOKEN = 3.2;
/** The chat template's framing per message (role markers, separators), in tokens. */
export const TOKENS_PER_MESSAGE = 6;
/** Longest tool output handed back to the model, whatever the window: a chatty tool must not flood the conversation. */
export const MAX_TOOL_OUTPUT_CHARS = 8000;
/** The shortest a trimmed tool output is cut to: below that it says nothing. */
export const MIN_TOOL_OUTPUT_CHARS = 120;

/** Slack for the estimate's error: 3% of the window, at least 24 tokens. */
export const marginOf = (window: number) => Math.max(24, Math.ceil(window * 0.03));

/**
 * A chars-per-token ratio learned from what one endpoint reported: the smallest of the recent
 * observations (more tokens per char = a safer estimate) less 5%, so one prose-heavy request does
 * not make the next digit-heavy one look small; DEFAULT_CHARS_PER_TOKEN until the first report.
 */
export class TokenRuler {
  private readonly recent: number[] = [];
  constructor(private readonly keep = 16) {}

  get charsPerToken(): number {
    return this.recent.length ? Math.min(...this.recent) * 0.95 : DEFAULT_CHARS_PER_TOKEN;
  }

  /** Whether the server has reported any size yet. */
  get calibrated(): boolean {
    return this.recent.length > 0;
  }

  /** One request of `chars` characters in `messages` messages was `tokens` tokens. */
  observe(chars: number, messages: number, tokens: number): void {
    const text = tokens - messages * TOKENS_PER_MESSAGE;
    if (!(chars > 0) || !(text > 0)) return;
    // Clamped: a server that reports nonsense (0, or the cached part only) must not make every estimate absurd.
    this.recent.push(Math.min(8, Math.max(1, chars / text)));
    if (this.recent.length > this.keep) this.recent.shift();
  }

  estimate(chars: number, messages: number): number {
    return Math.ceil(chars / this.charsPerToken) + messages * TOKENS_PER_MESSAGE;
  }
}

/** A request's size as counted here: characters of everything the template renders, and how many messages. */
export interface Measure {
  chars: number;
  messages: number;
}

/**
 * The estimate for one conversation: anchored at the last request whose size the server reported,
 * so only the text added since is estimated (a shorter request, e.g. without tool definitions, is
 * taken at the anchor's size: an overestimate, on the safe side).
 */
export class ConversationMeter {
  private anchor: (Measure & { tokens: number }) | undefined;
  constructor(readonly ruler: TokenRuler) {}

  estimate(m: Measure): number {
    if (!this.anchor) return this.ruler.estimate(m.chars, m.messages);
    return this.anchor.tokens + this.ruler.estimate(Math.max(0, m.chars - this.anchor.chars), Math.max(0, m.messages - this.anchor.messages));
  }

  /** Drops the anchor: the conversation was cut (tool outputs shortened), so the last report no longer describes it. */
  forget(): void {
    this.anchor = undefined;
  }

  /** The server reported `tokens` for a request measured as `m`. */
  observe(m: Measure, tokens: number): void {
    if (!(tokens > 0)) return;
    this.ruler.observe(m.chars, m.messages, tokens);
    this.anchor = { ...m, tokens };
  }
}

export interface FitInput {
  /** The context window in tokens. */
  window: number;
  /** Estimated tokens of the messages. */
  promptTokens: number;
  /** Estimated tokens the tool definitions add when they are offered. */
  toolTokens: number;
  /** Tools may still be offered (there are tools, and rounds left). */
  wantTools: boolean;
  /** The ref's maxOutputTokens, if it sets one. */
  requestedMax?: number;
}

export type Fit =
  | { ok: true; offerTools: boolean; maxTokens: number | undefined }
  /** `need`: the smallest request size (prompt + the answer floor); `room`: what the window leaves for the answer. */
  | { ok: false; need: number; room: number; floor: number };

/** The answer floor for a ref: ANSWER_FLOOR, or less when the ref itself asks for fewer tokens. */
export const floorFor = (requestedMax?: number) => Math.min(requestedMax ?? ANSWER_FLOOR, ANSWER_FLOOR);

/**
 * One request's shape within the window: whether tools are offered (only while a whole further round
 * and the final answer would still fit), and max_tokens lowered to what is left; not ok when not even
 * the answer floor fits.
 */
export function fitRequest(i: FitInput): Fit {
  const margin = marginOf(i.window);
  const floor = floorFor(i.requestedMax);
  const offerTools = i.wantTools && i.promptTokens + i.toolTokens + margin + floor + TOOL_ROUND_MIN <= i.window;
  const room = i.window - margin - i.promptTokens - (offerTools ? i.toolTokens : 0);
  if (room < floor) return { ok: false, need: i.promptTokens + floor, room: Math.max(0, i.window - margin - i.promptTokens), floor };
  const maxTokens = i.requestedMax !== undefined ? Math.min(i.requestedMax, room) : room < UNSET_MAX_CAP ? room : undefined;
  return { ok: true, offerTools, maxTokens };
}

/**
 * How many characters each of a round's tool outputs may keep. The round may use half of what is
 * left above the final answer's floor when more rounds may follow (so they still can), all of it
 * after the last round; never more than MAX_TOOL_OUTPUT_CHARS each, never less than MIN_TOOL_OUTPUT_CHARS.
 * Without a known window only the fixed cap applies.
 */
export function toolOutputBudget(a: { window?: number; promptTokens: number; outputs: number; lastRound: boolean; charsPerToken: number; requestedMax?: number }): number {
  if (a.window === undefined || a.outputs === 0) return MAX_TOOL_OUTPUT_CHARS;
  // The nudge that demands the final answer (~30 tokens) and each output's framing come out of the room too.
  const left = a.window - marginOf(a.window) - floorFor(a.requestedMax) - a.promptTokens - 32 - a.outputs * TOKENS_PER_MESSAGE;
  const share = a.lastRound ? left : Math.floor(left / 2);
  const chars = Math.floor((share / a.outputs) * a.charsPerToken);
  return Math.max(MIN_TOOL_OUTPUT_CHARS, Math.min(MAX_TOOL_OUTPUT_CHARS, chars));
}

/** Cuts `text` to `max` characters, keeping its head and tail (a traceback's last line, a printed result) and saying how much was cut. */
export function trimToolOutput(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `…[${text.length - max} characters cut to fit the context window]…`;
  const keep = Math.max(0, max - note.length);
  const head = Math.ceil(keep * 0.6);
  return `${text.slice(0, head)}${note}${text.slice(text.length - (keep - head))}`;
}

/**
 * New lengths for texts (the tool outputs already in a conversation) so that together they lose at
 * least `remove` characters: the longest are cut first, to one common cap, none below `min` (nor
 * lengthened). When even that is not enough, every text is at its floor and the caller's refit fails.
 */
export function shrinkTo(lengths: number[], remove: number, min = MIN_TOOL_OUTPUT_CHARS): number[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  const capped = (cap: number) => lengths.map((l) => Math.min(l, Math.max(cap, min)));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  if (remove <= 0) return [...lengths];
  let lo = 0;
  let hi = Math.max(0, ...lengths);
  // The largest cap that removes enough: binary search, as the removed amount only grows as the cap falls.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (total - sum(capped(mid)) >= remove) lo = mid;
    else hi = mid - 1;
  }
  return capped(lo);
}
