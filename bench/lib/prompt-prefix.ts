/**
 * How much of each role's prompt a provider's prefix cache can serve (issue 16, item 5): the share of
 * a request's prompt that repeats the start of the previous request of the same role, in the order a
 * provider reads it (tools and the answer schema, then the messages). Characters stand for tokens:
 * the share is the same to within the tokenizer's rounding.
 */
export interface PromptRequest {
  role: string;
  body: { messages?: Array<{ role?: string; content?: unknown }>; tools?: unknown; response_format?: unknown };
}

export function promptText(body: PromptRequest['body']): string {
  const head = JSON.stringify(body.tools ?? null) + JSON.stringify(body.response_format ?? null);
  return head + (body.messages ?? []).map((m) => `<${m.role}>${typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null)}`).join('');
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Per role: Σ prefix shared with the role's previous request ÷ Σ prompt length, over every request after the role's first. */
export function sharedPrefixShares(requests: PromptRequest[]): Record<string, number> {
  const last = new Map<string, string>();
  const sums = new Map<string, { shared: number; total: number }>();
  for (const r of requests) {
    const text = promptText(r.body);
    const prev = last.get(r.role);
    last.set(r.role, text);
    if (prev === undefined) continue;
    const s = sums.get(r.role) ?? { shared: 0, total: 0 };
    s.shared += commonPrefix(prev, text);
    s.total += text.length;
    sums.set(r.role, s);
  }
  return Object.fromEntries([...sums].map(([role, s]) => [role, s.total ? s.shared / s.total : 0]));
}
