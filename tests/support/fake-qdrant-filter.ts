// fake-qdrant's filters (tests/support/fake-qdrant.ts): the subset of Qdrant's Filter its callers send.
import { badRequest, unsupported } from './fake-qdrant-points.js';

type Test = (payload: Record<string, unknown>) => boolean;

/** Qdrant's Filter, limited to lists of field conditions with `match.value` or `range`. */
export function compileFilter(raw: unknown): Test {
  if (raw === undefined || raw === null) return () => true;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Format error in JSON body: invalid filter');
  const f = raw as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    if (!['must', 'should', 'must_not'].includes(k)) throw unsupported(`filter clause \`${k}\``);
  }
  const list = (v: unknown): Test[] => {
    if (v === undefined || v === null) return [];
    return (Array.isArray(v) ? v : [v]).map(compileCondition);
  };
  const must = list(f.must);
  const should = list(f.should);
  const mustNot = list(f.must_not);
  return (p) =>
    must.every((t) => t(p)) && (should.length === 0 || should.some((t) => t(p))) && !mustNot.some((t) => t(p));
}

function compileCondition(raw: unknown): Test {
  if (!raw || typeof raw !== 'object') throw badRequest('Format error in JSON body: invalid condition');
  const c = raw as Record<string, unknown>;
  if (typeof c.key !== 'string') throw unsupported('conditions other than field conditions');
  const key = c.key;
  const extra = Object.keys(c).filter((k) => k !== 'key' && k !== 'match' && k !== 'range');
  if (extra.length > 0 || (c.match !== undefined) === (c.range !== undefined)) {
    throw unsupported(`field condition ${JSON.stringify(c)}`);
  }
  if (c.match !== undefined) {
    const m = c.match as Record<string, unknown>;
    if (!m || typeof m !== 'object' || !('value' in m) || Object.keys(m).length !== 1) {
      throw unsupported(`match ${JSON.stringify(m)}`);
    }
    const want = m.value;
    // ValueVariants in Qdrant: String | Integer(i64) | Bool. A float is not accepted.
    const ok =
      typeof want === 'string' || typeof want === 'boolean' || (typeof want === 'number' && Number.isSafeInteger(want));
    if (!ok) {
      throw badRequest('Format error in JSON body: data did not match any variant of untagged enum ValueVariants');
    }
    return (p) =>
      values(p, key).some((v) =>
        typeof want === 'number' ? typeof v === 'number' && Number.isInteger(v) && v === want : v === want,
      );
  }
  const r = c.range as Record<string, unknown>;
  if (!r || typeof r !== 'object') throw badRequest('Format error in JSON body: invalid range');
  const bound = (k: string) => {
    const v = r[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw unsupported('datetime ranges');
    return v;
  };
  const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
  return (p) =>
    values(p, key).some(
      (v) =>
        typeof v === 'number' &&
        (gt === undefined || v > gt) &&
        (gte === undefined || v >= gte) &&
        (lt === undefined || v < lt) &&
        (lte === undefined || v <= lte),
    );
}

/** The payload values at a dotted key path; an array at the end is matched element by element. */
function values(payload: Record<string, unknown>, key: string): unknown[] {
  let cur: unknown = payload;
  for (const part of key.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return [];
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined) return [];
  return Array.isArray(cur) ? cur : [cur];
}
