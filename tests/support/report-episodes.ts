import type { CalibrationOutcome, EpisodeSummary, Outcome, TrainingExample } from '../../common/contracts/index.js';
import { rate } from '../../common/stats.js';
import type { EpisodeRecord } from '../../activities/store/ledger.js';

/**
 * A small ledger of one run as the gated episode writes it (workflows/episode.ts: summary and
 * transcript), one episode per kind of ending report.html must explain: accepted with an executed
 * check, junk with hostile text, a reference its program did not confirm, a duplicate, a Defender
 * that was right (the Judge overruled by rule), and a second accepted one. Shared by the HTML
 * builder's unit test and the Chromium test of an exported report.
 */
export const RUN = 'rpt';
export const HOSTILE_QUESTION = '<script>alert("q")</script> What is {{question}}?';
export const HOSTILE_EXPLANATION = '"><img src=x onerror=alert(1)> fine & dandy';
export const HOSTILE_STDOUT = "</pre><script>alert('out')</script>86.7";

const wf = (n: number) => `nanoflux-${RUN}/math/ep-${String(n).padStart(6, '0')}`;
const tokens = { attacker: 10, defender: 10, judge: 10, embedding: 1 };
const attack = (question: string, program?: string) => ({
  question,
  referenceAnswer: '86.7 L',
  solutionSteps: ['After 1 hour: 120 × 0.85 = 102 L.', 'After 2 hours: 102 × 0.85 = 86.7 L.'],
  skill: 'compound percentages',
  annotation: 'The drain compounds; 30% of 120 is the trap.',
  ...(program ? { program } : {}),
});
const verdict = (quality: number, complexity: number, defenderCorrect: boolean, explanation: string) => ({
  questionValid: true, referenceCorrect: true, defendersCorrect: [defenderCorrect], complexity, hops: 2, quality, explanation,
});
const programCheck = (stdout: string, verified: boolean, rule: boolean, overruled = 0) => ({
  method: 'program' as const,
  referenceVerified: verified,
  detail: verified ? 'the program printed 86.7, the stated answer' : 'the program printed 85, not the stated answer 86.7',
  program: { code: 'print(round(120 * 0.85 ** 2, 1))', stdout, durationMs: 12 },
  defenderDecidedBy: rule ? ['rule' as const] : [],
  disagreements: { reference: false, defenders: overruled },
});
const compact = (v: ReturnType<typeof programCheck>) => ({ method: v.method, referenceVerified: v.referenceVerified, defenderDecidedBy: v.defenderDecidedBy, disagreements: v.disagreements });

function record(n: number, outcome: Outcome, summary: Partial<EpisodeSummary>, transcript: object): EpisodeRecord {
  const s: EpisodeSummary = { episode: n, workflowId: wf(n), attackerSlot: n % 2 ? 'a' : 'b', topic: 'percentages', targetComplexity: 3, outcome, tokens, toolCalls: 0, ...summary };
  return { workflowId: wf(n), runId: RUN, domain: 'math', episode: n, summary: s, transcript };
}

export function reportEpisodes(): EpisodeRecord[] {
  const ok = programCheck('86.7\n', true, true);
  const ok2 = programCheck(HOSTILE_STDOUT, true, true);
  const unverified = programCheck('85\n', false, false);
  const overruled = programCheck('86.7\n', true, true, 1);
  const calls = [{ tool: 'calculate', input: '120*0.85^2', output: '86.7', durationMs: 3 }];
  return [
    record(1, 'accepted', { scores: { complexity: 3, hops: 2, quality: 4.2, qualityLevel: 'L4', novelty: 0.6 }, toolCalls: 1, verification: compact(ok), exampleId: `${RUN}/math/1` },
      { attack: attack('A tank holds 120 L and drains 15% per hour. How much is left after 2 hours?', ok.program.code), defenses: [{ reasoning: '30% of 120 is 36', answer: '84 L' }], verdict: verdict(4.2, 3, false, 'Recomputed 86.7 with the calculator.'), judgeModel: 'judge-1', toolCalls: calls, verification: ok }),
    record(2, 'prompt_leak', { rejection: 'contains a template placeholder' },
      { attack: attack(HOSTILE_QUESTION), rejection: 'contains a template placeholder' }),
    record(3, 'reference_unverified', { rejection: unverified.detail, verification: compact(unverified) },
      { attack: attack('A pool of 120 L loses 15% an hour. What remains after 2 hours?', unverified.program.code), verification: unverified, rejection: unverified.detail }),
    record(4, 'duplicate', { nearest: { id: `${RUN}/math/1`, score: 0.974, source: 'store', text: 'A tank holds 120 L and drains 15% per hour.' } },
      { attack: attack('A 120 L tank drains 15% each hour; what is left after 2 hours?') }),
    record(5, 'defender_correct', { scores: { complexity: 2, hops: 2, quality: 3.1, qualityLevel: 'L3', novelty: 0.5 }, toolCalls: 2, verification: compact(overruled) },
      { attack: attack('A barrel of 120 L leaks 15% per hour. How much after 2 hours?', overruled.program.code), defenses: [{ reasoning: '120 × 0.85 × 0.85', answer: '86.7' }], verdict: verdict(3.1, 2, false, 'The Defender is wrong.'), judgeModel: 'judge-1', toolCalls: [...calls, { tool: 'python', input: 'print(1/0)', output: '', durationMs: 5, error: 'ZeroDivisionError' }], verification: overruled }),
    record(6, 'accepted', { scores: { complexity: 4, hops: 3, quality: 4.8, qualityLevel: 'L5', novelty: 0.7 }, toolCalls: 0, verification: compact(ok2), exampleId: `${RUN}/math/6` },
      { attack: attack('A 200 L vat loses 10% an hour. How much is left after 3 hours?', ok2.program.code), defenses: [{ reasoning: 'guess', answer: '140 L' }], verdict: verdict(4.8, 4, false, HOSTILE_EXPLANATION), judgeModel: 'judge-1', toolCalls: [], verification: ok2 }),
  ];
}

/** The two accepted episodes' examples, as storeExample stores them. */
export function reportExamples(): TrainingExample[] {
  return reportEpisodes()
    .filter((e) => e.summary.outcome === 'accepted')
    .map((e) => {
      const t = e.transcript as { attack: ReturnType<typeof attack> };
      const s = e.summary.scores!;
      return {
        id: e.summary.exampleId!, question: t.attack.question, solutionSteps: t.attack.solutionSteps, answer: t.attack.referenceAnswer, annotation: t.attack.annotation,
        domain: 'math', skill: t.attack.skill, complexity: s.complexity, hops: s.hops, quality: s.quality, qualityLevel: s.qualityLevel, novelty: s.novelty,
        provenance: { runId: RUN, episode: e.episode, workflowId: e.workflowId, attackerModel: 'model-a', defenderModel: 'model-b', judgeModel: 'judge-1' },
        verification: { method: 'program', verified: true },
      };
    });
}

/** A passed calibration of the math Judge. */
export function reportCalibration(): CalibrationOutcome[] {
  return [{
    domain: 'math',
    cached: false,
    report: {
      source: 'gsm8k-train', judgeModel: 'judge-1', promptVersion: 'v1', items: 40, byKind: { defender_right: 12, defender_wrong: 12, reference_wrong: 12, junk: 4 },
      agreement: { questionValid: rate(38, 40), referenceCorrect: rate(33, 40), defenderCorrect: rate(30, 36) },
      badAccepted: rate(2, 16), goodAccepted: rate(11, 12), failedCalls: 0, minAgreement: 0.75, passed: true, reasons: [],
    },
  }];
}
