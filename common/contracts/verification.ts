/**
 * Deterministic verification of an episode: what the domain pack's check found (an executed
 * program for math, stated options for multiple choice) and how the Judge's opinion compared.
 * The executed check wins where it decides; disagreements are counted, never hidden.
 */
export interface ReferenceCheck {
  /** `program`: the Attacker's program ran in the sandbox; `options`: the answer is one of the stated options; `none`: nothing deterministic applies. */
  method: 'program' | 'options' | 'none';
  /** true: the check confirms the reference; false: it refutes it (or the program is missing or failed); null: no check applies. */
  verified: boolean | null;
  /** One line: what was run and what it printed, or why nothing could be checked. */
  detail: string;
  program?: { code: string; stdout: string; error?: string; durationMs: number };
}

/** Kept with the episode (ledger, report.html, dataset card): how each verdict field was decided. */
export interface Verification {
  method: ReferenceCheck['method'];
  referenceVerified: boolean | null;
  detail: string;
  program?: ReferenceCheck['program'];
  /** How the Defender's correctness was decided, per answer: by rule (number, option) or by the Judge. */
  defenderDecidedBy: ('rule' | 'judge')[];
  /** Fields where the Judge said otherwise than the deterministic check (the check won). */
  disagreements: { reference: boolean; defenders: number };
}
