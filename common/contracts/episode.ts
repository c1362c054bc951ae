import type { McpServerConfig, ModelRef } from '../config.js';
import type { DomainBrief, Outcome, Scores, TokensByRole } from './game.js';
import type { Verification } from './verification.js';

/** Which of the run's two models, A or B, attacked in an episode (they alternate: workflows/logic/roles.ts). */
export type Slot = 'a' | 'b';

/** What the domain loop gives an episode workflow (workflows/episode.ts). */
export interface EpisodeInput {
  runId: string;
  domain: DomainBrief & { benchmark: 'gsm8k' | 'pubmedqa' | 'none' };
  episode: number;
  topic: string;
  attackerSlot: Slot;
  models: { attacker: ModelRef; defender: ModelRef; judge: ModelRef; embedding: ModelRef };
  targetComplexity: number;
  targetHops: number;
  /** The Defender's record by skill, shown to the Attacker. */
  defenderProfile: string;
  noveltyThreshold: number;
  maxSchemaRetries: number;
  /** Solve-rate mode: this many Defender samples, accepted when the share solved lies in [min, max]. */
  solveRate?: { samples: number; min: number; max: number };
  /** The Judge's tool budget and MCP servers (absent in histories from before they existed). */
  judge?: { maxToolRounds: number; mcpServers: McpServerConfig[] };
  /** Review mode: an accepted example waits for a human decision before it is stored. */
  review?: { timeoutSeconds: number; onTimeout: 'approve' | 'reject' };
}

/** Tokens by role the provider billed otherwise than at the standard price (issue 16): served from its prompt cache (prompt tokens only), billed at the flex tier. */
export interface BilledTokens {
  cachedPrompt: TokensByRole;
  flex: TokensByRole;
  /** Answered through the Batch API; absent in records from before the batch tier. */
  batch?: TokensByRole;
  /** Billed for attempts of a model call that failed (answers before a bad one or an error; included in the tokens and cost); absent: none. */
  failedAttempts?: TokensByRole;
}

/** What an episode workflow returns: compact, so the domain loop's history stays small. The ledger keeps it (activities/store/ledger.ts). */
export interface EpisodeSummary {
  episode: number;
  workflowId: string;
  attackerSlot: Slot;
  topic: string;
  targetComplexity: number;
  /** The skill the Attacker targeted, once it has attacked. */
  skill?: string;
  outcome: Outcome;
  tokens: TokensByRole;
  /** USD by role, from the models' prices (absent in summaries written before prices existed). */
  cost?: TokensByRole;
  /** Of `tokens`, what the provider said of its bill, by role (absent when it said nothing: standard tier, no cache). */
  billed?: BilledTokens;
  scores?: Scores;
  /** Review mode: the human (or timeout) decision on an accepted example. */
  review?: { approve: boolean; reviewer?: string; note?: string };
  /** For a duplicate: the nearest stored question and its similarity. */
  nearest?: { id: string; score: number; source: string; text: string };
  exampleId?: string;
  toolCalls: number;
  /** The judge's tool use, e.g. `calculate×2, python×1`. */
  toolUse?: string;
  /** Why a junk guard or the executed check rejected it (one line). */
  rejection?: string;
  /** How the verdict was decided (gated episodes): the executed check, the rules, and where the Judge was overruled. */
  verification?: Omit<Verification, 'program' | 'detail'>;
  error?: string;
  /** Where the episode's record was written in its OpenTelemetry trace, when the worker traced (report.html links it). */
  trace?: { traceId: string; spanId: string };
  /** A failed episode's failure type (common/errors.ts ErrorType), for the circuit breaker and status' failure reasons. */
  errorType?: string;
}
