/**
 * Call efficiency: model calls per accepted example, against the minimum implied by the scripted
 * Defender's failure rate and the Attacker's duplicate rate.
 *
 * One NanoFlux run goes through Temporal (nanofluxRun → domain loop → episode children, real dev
 * server, real workers in this process) to `--target` accepted examples, against the scripted
 * OpenAI-compatible server, which logs every HTTP request (chat and embeddings). The game:
 *
 * - Attacker: each call draws two numbers from a seeded PRNG (mulberry32), in call order. With
 *   probability d it repeats a question that is already stored in the run's examples collection,
 *   re-worded by one token so the text differs (the embedder's text cache cannot answer it) while
 *   the bag-of-words cosine stays ≥ the 0.85 threshold: novelty must reject it. Otherwise (or when
 *   nothing is stored yet) it writes a fresh question from its own vocabulary, checked to be far
 *   (cosine < 0.7) from every earlier fresh one, and draws whether the Defender will get it wrong
 *   (probability p).
 * - Defender: answers wrong exactly on the questions drawn wrong.
 * - Judge: question valid, reference right, passes the Defender's correctness through, no tools.
 *
 * So an episode is accepted iff it is not a duplicate and the Defender was wrong, and the least a
 * perfect implementation can spend per episode is 1 attack + 1 embedding (novelty), plus 1 defend +
 * 1 judge for a non-duplicate. Storing an accepted example embeds the same text again: the minimum
 * counts no HTTP request for it (the embedder's cache should answer it).
 *
 * Reported: requests by kind from the server's log; minimum for the episodes actually run (realised
 * draws, so sampling noise cancels) and in expectation (the rates d, p); the overshoot — episodes
 * after the one, in launch order, that brought the target-th acceptance, which a concurrent loop
 * starts before it knows the target is reached; and diagnostics for any excess (schema re-asks,
 * judge tool rounds, texts embedded twice, Defender or Judge requests sent twice).
 *
 * Exits 1 when the target (≤ 1.05× the minimum for the episodes run) is missed or an episode's
 * outcome differs from its draws.
 *
 * Usage: npx tsx bench/call-efficiency.ts [--target 60] [--concurrency 4] [--p 0.4] [--d 0.2]
 *        [--seed 1] [--out bench/results/call-efficiency.json]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { EpisodeRecord } from '../activities/store/ledger.js';
import { collectionName } from '../activities/store/vector/point-id.js';
import { bagOfWordsVector, type RecordedRequest, type ScriptedRequest, type ScriptedResponse } from '../tests/support/scripted-openai.js';
import Database from 'better-sqlite3';
import { arg, benchConfig, type BenchDeps, benchHome, runThroughTemporal, startBenchEnv } from './lib/harness.js';
import { mulberry32 as prng } from '../tests/support/prng.js';

const target = Number(arg('target', '60'));
const concurrency = Number(arg('concurrency', '4'));
const p = Number(arg('p', '0.4'));
const d = Number(arg('d', '0.2'));
const seed = Number(arg('seed', '1'));
const outPath = arg('out', join(import.meta.dirname, 'results', 'call-efficiency.json'));
const THRESHOLD = 0.85;
/** The target: calls ≤ 1.05× the minimum. */
const TARGET_RATIO = 1.05;
const RUN_ID = 'call-efficiency';

const cosine = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0); // unit vectors

// ---------------------------------------------------------------------------------------------
// The scripted game
// ---------------------------------------------------------------------------------------------

interface Draw {
  /** Attacker call index (the order of the PRNG draws). */
  call: number;
  kind: 'fresh' | 'repeat';
  /** fresh: the question's tag `Q<n>`; repeat: the tag of the stored question it copies. */
  tag: string;
  text: string;
  /** fresh: whether the Defender will answer wrong. */
  defenderWrong?: boolean;
  /** repeat: cosine with the question it copies. */
  cosine?: number;
  /** A duplicate was drawn but nothing was stored yet, so a fresh question went out instead. */
  dupUnavailable?: boolean;
}

const SYLLABLES = 'ka lo mi nu pe ri sa to vu we xi yo za bu ce di fo gu hi ja'.split(' ');

function createGame(opts: { p: number; d: number; seed: number; storedQuestions: () => Promise<string[]> }) {
  const rng = prng(opts.seed);
  const draws: Draw[] = [];
  const wrongByTag = new Map<string, boolean>();
  const freshVectors: number[][] = [];
  let fresh = 0;
  let rejectedDrafts = 0;

  const freshQuestion = (level: string): { tag: string; text: string } => {
    for (let salt = 0; ; salt++) {
      const n = fresh;
      // Eight made-up words unique to this question (its number is part of each), so two fresh
      // questions share only the frame's few words.
      const words = Array.from({ length: 8 }, (_, i) => `${SYLLABLES[(n * 7 + i * 3 + salt) % SYLLABLES.length]}${SYLLABLES[(n + i * 5 + salt * 3) % SYLLABLES.length]}${n}w${i}s${salt}`);
      const tag = `Q${n}`;
      const text = `${tag}: ${words.join(' ')} — how many ${words[0]} are left? [c=${level}]`;
      const v = bagOfWordsVector(text);
      if (freshVectors.every((u) => cosine(u, v) < 0.7)) {
        freshVectors.push(v);
        fresh += 1;
        return { tag, text };
      }
      rejectedDrafts += 1;
    }
  };

  const attack = async (req: ScriptedRequest): Promise<ScriptedResponse> => {
    const call = draws.length;
    // Two draws per call whatever happens, so the sequence by call index does not depend on timing.
    const uDup = rng();
    const uOther = rng();
    const placeholder: Draw = { call, kind: 'fresh', tag: '', text: '' };
    draws.push(placeholder);
    const level = /Target complexity \(1-5\): (\d)/.exec(JSON.stringify(req.messages))?.[1] ?? '?';
    let draw: Draw | undefined;
    if (uDup < opts.d) {
      const stored = await opts.storedQuestions();
      if (stored.length > 0) {
        const original = stored[Math.floor(uOther * stored.length)]!;
        // One extra token, unique per call: never the same text twice, cosine stays high.
        const text = `${original} again${call}`;
        const c = cosine(bagOfWordsVector(original), bagOfWordsVector(text));
        if (c < THRESHOLD) throw new Error(`a repeat's cosine ${c.toFixed(3)} is below the threshold: the bench's texts need fixing`);
        draw = { call, kind: 'repeat', tag: /^(Q\d+):/.exec(original)?.[1] ?? '?', text, cosine: c };
      }
    }
    if (!draw) {
      const q = freshQuestion(level);
      const defenderWrong = uOther < opts.p;
      wrongByTag.set(q.tag, defenderWrong);
      draw = { call, kind: 'fresh', tag: q.tag, text: q.text, defenderWrong, ...(uDup < opts.d ? { dupUnavailable: true } : {}) };
    }
    Object.assign(placeholder, draw);
    return { json: { question: draw.text, referenceAnswer: '42', solutionSteps: ['Add the parts.', 'Subtract the loss.'], skill: 'multi-step arithmetic', annotation: 'The loss is easy to apply twice.' } };
  };

  const handler = async (req: ScriptedRequest): Promise<ScriptedResponse> => {
    if (req.role === 'attacker') return attack(req);
    if (req.role === 'defender') {
      const q = String(req.messages.at(-1)?.content ?? '');
      const tag = /\b(Q\d+):/.exec(q)?.[1];
      const wrong = tag !== undefined && wrongByTag.get(tag) === true;
      return { json: { reasoning: 'I added and subtracted.', answer: wrong ? '41' : '42' } };
    }
    if (req.role === 'judge') {
      const user = String(req.messages.find((m) => m.role === 'user')?.content ?? '');
      const answers = [...user.matchAll(/<<<DEFENDER_(?:\d+_)?ANSWER\n([\s\S]*?)\n/g)].map((m) => m[1] === '42');
      const scores = { questionValid: true, referenceCorrect: true, complexity: 3, hops: 2, quality: 4.0, explanation: 'Recomputed: 42.' };
      if (answers.length > 1) return { json: { ...scores, defendersCorrect: answers } };
      return { json: { ...scores, defenderCorrect: answers[0] ?? false } };
    }
    return { status: 400, message: `unexpected role ${req.role}` };
  };

  return { handler, draws, rejectedDrafts: () => rejectedDrafts };
}

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

type Kind = 'attacker' | 'defender' | 'judge' | 'embeddings' | 'other';

function kindOf(r: RecordedRequest): Kind {
  if (r.path.endsWith('/embeddings')) return 'embeddings';
  if (r.path.endsWith('/chat/completions') && r.role !== 'unknown') return r.role;
  return 'other';
}

/** Why a request might be more than the minimum: read from the request bodies themselves. */
function diagnose(requests: RecordedRequest[]) {
  const chat = requests.filter((r) => r.path.endsWith('/chat/completions'));
  const schemaReasks = chat.filter((r) => JSON.stringify(r.body?.messages ?? []).includes('Your previous answer was rejected')).length;
  const toolRounds = chat.filter((r) => (r.body?.messages ?? []).some((m: { role: string }) => m.role === 'tool')).length;
  // Attacker prompts repeat legitimately (same topic, level and profile); a Defender or Judge request
  // carries its question, so the same body twice means the same call was made twice (a retry).
  const seenChat = new Set<string>();
  let identicalChat = 0;
  for (const r of chat.filter((x) => x.role === 'defender' || x.role === 'judge')) {
    const key = JSON.stringify(r.body);
    if (seenChat.has(key)) identicalChat += 1;
    seenChat.add(key);
  }
  const embedded = new Map<string, number>();
  let embeddingInputs = 0;
  for (const r of requests.filter((x) => x.path.endsWith('/embeddings'))) {
    const inputs: string[] = Array.isArray(r.body?.input) ? r.body.input : [String(r.body?.input ?? '')];
    embeddingInputs += inputs.length;
    for (const t of inputs) embedded.set(t, (embedded.get(t) ?? 0) + 1);
  }
  const textsEmbeddedAgain = [...embedded.values()].reduce((n, c) => n + (c - 1), 0);
  return { schemaReasks, judgeToolRounds: toolRounds, repeatedDefenderOrJudgeRequests: identicalChat, embeddingInputs, textsEmbeddedAgain };
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async function runGame() {
  const env = await startBenchEnv();
  let deps: BenchDeps | undefined;
  const config = benchConfig(env.llm.baseURL, RUN_ID, {
    generation: { targetAccepted: target, maxEpisodes: 100_000, concurrency, noveltyThreshold: THRESHOLD },
  });

  let collection: string | undefined;
  const storedQuestions = async (): Promise<string[]> => {
    if (!deps) return [];
    collection ??= collectionName('examples', config.domains[0]!.name, deps.embedder(config.models.embedding).id);
    const points = await deps.store.list(collection, { runId: RUN_ID });
    return points.map((x) => String(x.payload.question ?? '')).filter((q) => /^Q\d+:/.test(q));
  };
  const game = createGame({ p, d, seed, storedQuestions });
  env.llm.script(game.handler);

  const load0 = loadavg();
  let episodes: EpisodeRecord[] = [];
  let ms = 0;
  const home = benchHome();
  try {
    const r = await runThroughTemporal(env, config, {
      home,
      during: async (h, dd) => {
        deps = dd;
        await h.result().catch(() => undefined);
        episodes = dd.ledger.episodes(RUN_ID); // before the harness closes the ledger
      },
    });
    ms = r.ms;
  } finally {
    await env.close();
  }
  const load1 = loadavg();
  const recordedAt = new Map<number, string>();
  {
    const db = new Database(join(home, 'ledger.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT episode, recorded_at FROM episodes WHERE run_id = ?').all(RUN_ID) as { episode: number; recorded_at: string }[];
    for (const row of rows) recordedAt.set(row.episode, row.recorded_at);
    db.close();
    rmSync(home, { recursive: true, force: true });
  }
  return { requests: env.llm.requests, game, episodes, recordedAt, ms, load0, load1 };
}

function analyse({ requests, game, episodes, recordedAt, ms, load0, load1 }: Awaited<ReturnType<typeof runGame>>) {
  const calls: Record<Kind, number> = { attacker: 0, defender: 0, judge: 0, embeddings: 0, other: 0 };
  for (const r of requests) calls[kindOf(r)] += 1;
  const chatCalls = calls.attacker + calls.defender + calls.judge + calls.other;
  const allCalls = chatCalls + calls.embeddings;

  const outcomes: Record<string, number> = {};
  for (const e of episodes) outcomes[e.summary.outcome] = (outcomes[e.summary.outcome] ?? 0) + 1;
  const E = episodes.length;
  const D = outcomes.duplicate ?? 0;
  const A = outcomes.accepted ?? 0;
  const failed = outcomes.failed ?? 0;

  // Realised draws, as issued by the scripted Attacker (one per attacker request).
  const draws = game.draws;
  const repeatsIssued = draws.filter((x) => x.kind === 'repeat').length;
  const freshIssued = draws.filter((x) => x.kind === 'fresh');
  const defenderFailuresDrawn = freshIssued.filter((x) => x.defenderWrong).length;
  const dupUnavailable = draws.filter((x) => x.dupUnavailable).length;
  // Per episode, from its question (the ledger's transcript): what the draws imply for it.
  const drawByText = new Map(draws.map((x) => [x.text, x]));
  const perEpisode = episodes
    .map((e) => {
      const question = (e.transcript as { attack?: { question?: string } }).attack?.question ?? '';
      const draw = drawByText.get(question);
      const duplicate = draw?.kind === 'repeat';
      const expected = duplicate ? 'duplicate' : draw?.defenderWrong ? 'accepted' : 'defender_correct';
      return { episode: e.episode, outcome: e.summary.outcome, expected, minCalls: { chat: duplicate ? 1 : 3, all: duplicate ? 2 : 4 } };
    })
    .sort((x, y) => x.episode - y.episode);
  const mismatches = perEpisode.filter((x) => x.outcome !== x.expected);
  const N = E - D; // non-duplicates (episodes that reached the Defender, when nothing failed)
  const F = perEpisode.filter((x) => x.expected === 'accepted').length; // defender failures among them

  // Minimum for the episodes actually run.
  const minAll = 2 * E + 2 * N;
  const minChat = E + 2 * N;
  // The target's share: episodes up to (in launch order) the one that brought the target-th acceptance.
  let acc = 0;
  let needed = E;
  for (let i = 0; i < perEpisode.length; i++) {
    if (perEpisode[i]!.expected === 'accepted' && ++acc === target) {
      needed = i + 1;
      break;
    }
  }
  const neededEps = perEpisode.slice(0, needed);
  const minToTarget = { chat: neededEps.reduce((n, x) => n + x.minCalls.chat, 0), all: neededEps.reduce((n, x) => n + x.minCalls.all, 0) };
  // In completion order (the ledger's first write of each episode): the episodes still running when
  // the target-th acceptance was recorded. The loop launches nothing once accepted ≥ target, so these
  // were all in flight then (at most concurrency − 1).
  const byCompletion = [...perEpisode].sort((x, y) => (recordedAt.get(x.episode) ?? '').localeCompare(recordedAt.get(y.episode) ?? '') || x.episode - y.episode);
  let seen = 0;
  let inFlightAtTarget = 0;
  for (let i = 0; i < byCompletion.length; i++) {
    if (byCompletion[i]!.outcome === 'accepted' && ++seen === target) {
      inFlightAtTarget = byCompletion.length - i - 1;
      break;
    }
  }
  const overshoot = { episodes: E - needed, inFlightAtTarget, startedOutOfOrder: E - needed - inFlightAtTarget, accepted: A - Math.min(A, target), calls: { chat: minChat - minToTarget.chat, all: minAll - minToTarget.all } };

  // In expectation, from the rates alone.
  const expected = {
    perEpisode: { chat: 1 + 2 * (1 - d), all: 2 + 2 * (1 - d) },
    acceptRate: (1 - d) * p,
  };
  const expectedPerAccepted = { chat: expected.perEpisode.chat / expected.acceptRate, all: expected.perEpisode.all / expected.acceptRate };
  const realisedPerAccepted = { chat: ratio(minChat, A), all: ratio(minAll, A) };
  const actualPerAccepted = { chat: ratio(chatCalls, A), all: ratio(allCalls, A) };

  const result = {
    bench: 'call-efficiency',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version, loadavgStart: load0.map((x) => +x.toFixed(2)), loadavgEnd: load1.map((x) => +x.toFixed(2)) },
    settings: { target, concurrency, p, d, seed, noveltyThreshold: THRESHOLD, wallMs: Math.round(ms) },
    episodes: E,
    outcomes,
    draws: {
      attackerCalls: draws.length,
      repeatsIssued,
      duplicateDrawnButNothingStored: dupUnavailable,
      freshQuestions: freshIssued.length,
      defenderFailuresDrawn,
      realisedDuplicateRate: ratio(D, E),
      realisedDefenderFailureRate: ratio(F, N),
      freshDraftsRedrawnForNovelty: game.rejectedDrafts(),
      repeatCosineMin: Math.min(...draws.filter((x) => x.kind === 'repeat').map((x) => x.cosine!)),
    },
    duplicates: D,
    defenderFailures: F,
    accepted: A,
    failed,
    outcomesNotAsDrawn: mismatches.length,
    calls: { ...calls, chat: chatCalls, all: allCalls },
    minimum: {
      forEpisodesRun: { chat: minChat, all: minAll },
      toReachTarget: { episodes: needed, ...minToTarget },
      overshoot,
    },
    perAccepted: {
      actual: actualPerAccepted,
      minimumRealised: realisedPerAccepted,
      minimumExpected: expectedPerAccepted,
    },
    ratio: {
      /** actual / minimum for the same episodes: waste per episode (the target: ≤ 1.05). */
      vsRealised: { chat: ratio(chatCalls, minChat), all: ratio(allCalls, minAll) },
      /** actual per accepted / the rates' minimum per accepted: adds sampling noise. */
      vsExpected: { chat: ratio(actualPerAccepted.chat, expectedPerAccepted.chat), all: ratio(actualPerAccepted.all, expectedPerAccepted.all) },
      /** actual calls / minimum calls to reach the target: adds the overshoot of concurrency. */
      vsTargetMinimum: { chat: ratio(chatCalls, minToTarget.chat), all: ratio(allCalls, minToTarget.all) },
    },
    diagnostics: diagnose(requests),
  };
  return { result, mismatches };
}

function publish({ result: r, mismatches }: ReturnType<typeof analyse>, { ms, load0, load1 }: Awaited<ReturnType<typeof runGame>>): boolean {
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(r, null, 2) + '\n');
  const { overshoot } = r.minimum;
  const lines = [
    `call efficiency — target ${target}, concurrency ${concurrency}, p = ${p}, d = ${d}, seed ${seed}; ${(ms / 1000).toFixed(1)} s; load ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)}`,
    '',
    '| episodes | duplicates | defender failures | accepted | failed | attacker | defender | judge | embeddings | chat calls / accepted | all calls / accepted | minimum chat / accepted (realised · expected) | minimum all / accepted (realised · expected) | ratio chat (realised · expected) | ratio all (realised · expected) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${r.episodes} | ${r.duplicates} | ${r.defenderFailures} | ${r.accepted} | ${r.failed} | ${r.calls.attacker} | ${r.calls.defender} | ${r.calls.judge} | ${r.calls.embeddings} | ${fmt(r.perAccepted.actual.chat)} | ${fmt(r.perAccepted.actual.all)} | ${fmt(r.perAccepted.minimumRealised.chat)} · ${fmt(r.perAccepted.minimumExpected.chat)} | ${fmt(r.perAccepted.minimumRealised.all)} · ${fmt(r.perAccepted.minimumExpected.all)} | ${fmt(r.ratio.vsRealised.chat)} · ${fmt(r.ratio.vsExpected.chat)} | ${fmt(r.ratio.vsRealised.all)} · ${fmt(r.ratio.vsExpected.all)} |`,
    '',
    `overshoot (concurrency, not per-episode waste): the target-th acceptance came with episode ${r.minimum.toReachTarget.episodes} of ${r.episodes} in launch order; ${overshoot.episodes} episodes were started after it ` +
      `(${overshoot.inFlightAtTarget} still in flight when the target-th acceptance was recorded, ${overshoot.startedOutOfOrder} launched while an earlier accepted episode was still running) ` +
      `(${overshoot.calls.chat} chat / ${overshoot.calls.all} calls in all at the minimum), ${overshoot.accepted} accepted beyond the target. ` +
      `Actual calls / minimum to reach the target: chat ${fmt(r.ratio.vsTargetMinimum.chat)}, all ${fmt(r.ratio.vsTargetMinimum.all)}.`,
    `draws: ${r.draws.attackerCalls} attacker calls, ${r.draws.repeatsIssued} repeats issued (${r.draws.duplicateDrawnButNothingStored} duplicate draws fell back to a fresh question: nothing stored yet), ${r.draws.defenderFailuresDrawn} defender failures drawn over ${r.draws.freshQuestions} fresh questions; outcomes not as drawn: ${mismatches.length}`,
    `diagnostics: ${JSON.stringify(r.diagnostics)}`,
    `wrote ${outPath}`,
  ];
  console.log(lines.join('\n'));
  if (mismatches.length > 0) console.log('episodes whose outcome differs from their draws:', JSON.stringify(mismatches.slice(0, 10)));
  const met = r.ratio.vsRealised.all <= TARGET_RATIO && r.ratio.vsRealised.chat <= TARGET_RATIO;
  console.log(`target (calls ≤ ${TARGET_RATIO}× the minimum for the episodes run, chat and all): ${met ? 'met' : 'NOT met'}`);
  return met && mismatches.length === 0;
}

async function main(): Promise<boolean> {
  const run = await runGame();
  return publish(analyse(run), run);
}

process.exit((await main()) ? 0 : 1);
