import { z } from 'zod';
import { familyOf } from './model-capabilities.js';

/**
 * How training sets become training text (issue 14, items 2 and 5): the baselines, the answer format
 * they and the NanoFlux set share, the annotation's place, how a baseline's training length is
 * matched to the NanoFlux set's, and the student's thinking switch. Apart from common/config.ts so
 * the cross-field rules sit beside the fields they are about.
 */

export const PATH_NOTE = 'relative paths are taken from the project root (where the worker runs)';
export const SLUG = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export const BASELINE_FORMATS = ['chat', 'gsm8k', 'mcq'] as const;
export type BaselineFormat = (typeof BASELINE_FORMATS)[number];

/**
 * Whether a baseline format carries a worked solution besides the answer. GSM8K's training split
 * does; a multiple-choice file holds the key only. A chat file's assistant turns are whatever they
 * are: taken as reasoning, and each row is checked when the training file is written.
 */
export const BASELINE_HAS_RATIONALES: Record<BaselineFormat, boolean> = { chat: true, gsm8k: true, mcq: false };

export const BaselineSchema = z.strictObject({
  name: z.string().regex(SLUG, 'must be a slug').describe('Variant name in the report, e.g. full-train'),
  data: z.string().min(1).describe(`Training file; ${PATH_NOTE}`),
  format: z
    .enum(BASELINE_FORMATS)
    .describe('`chat`: OpenAI fine-tuning JSONL; `gsm8k`: {question, answer with "#### n"}; `mcq`: {question, options, answer}'),
  limit: z.int().min(1).optional().describe('Train on the first N examples only'),
});
export type BaselineConfig = z.infer<typeof BaselineSchema>;

export const ANSWER_FORMATS = ['auto', 'reasoning', 'answer-only'] as const;
export type AnswerFormat = Exclude<(typeof ANSWER_FORMATS)[number], 'auto'>;
export const ANNOTATION_PLACEMENTS = ['omit', 'prepend', 'append'] as const;
export type AnnotationPlacement = (typeof ANNOTATION_PLACEMENTS)[number];

const TrainingObject = z.strictObject({
  answerFormat: z
    .enum(ANSWER_FORMATS)
    .default('auto')
    .describe(
      "What the assistant turn of every training example holds, the NanoFlux set's and each baseline's alike: `reasoning` = the worked steps, a blank line, `Answer: …`; `answer-only` = the `Answer: …` line alone. `auto` = reasoning unless a baseline of the domain has no rationales to train on (an `mcq` file), then answer-only for the whole domain. The evaluation prompt asks for the same format",
    ),
  annotation: z
    .enum(ANNOTATION_PLACEMENTS)
    .default('omit')
    .describe("Where the Attacker's annotation (the pitfall the question sets) goes in a NanoFlux example's assistant turn: `omit`, `prepend` (before the steps) or `append` (after the answer line), each a paragraph of its own. Baselines have no annotations. Ablation axis `annotation` trains all three"),
  match: z
    .enum(['epochs', 'tokens'])
    .default('epochs')
    .describe("How long each baseline trains: `epochs` = finetune.epochs passes over its own set, like `tuned`; `tokens` = until it has seen as many training tokens as `tuned` does (counted by the trainer with the student's tokenizer, to the batch; local backend only). The report names which"),
  thinking: z
    .boolean()
    .default(false)
    .describe("The student's thinking switch when the trainer renders an example (`enable_thinking` of a Qwen3 chat template; templates without it ignore it). Off: the steps are the visible answer (after the empty think block a Qwen3 template puts in the prompt). On: the steps (and a prepended annotation) go inside `<think>…</think>`, the answer line after it. Evaluate in the same mode (evaluate.thinking); the openai backend takes none"),
});
export const TrainingSchema = TrainingObject.default(TrainingObject.parse({})).describe(
  "How the training sets become training text: answer format, annotation, the baselines' training length, thinking mode",
);
export type TrainingConfig = z.infer<typeof TrainingObject>;

export const EvaluateThinkingSchema = z
  .boolean()
  .optional()
  .describe(
    "The thinking switch of the evaluated model's chat template. trainer: passed as `enable_thinking` (default false); endpoint: sent as `chat_template_kwargs.enable_thinking` (vLLM, SGLang) when set, nothing when unset (OpenAI's API refuses the field). A fine-tuned student is refused another mode than finetune.training.thinking",
  );

interface Checked {
  domains: { baselines: BaselineConfig[] }[];
  finetune?: { backend: string; baseModel: string; training: TrainingConfig };
  evaluate?: { via: string; thinking?: boolean };
}

/** What a run cannot do fairly, found at validation: each with its field path. */
export function trainingProblems(c: Checked): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const t = c.finetune?.training;
  if (!c.finetune || !t) return out;
  if (t.match === 'tokens' && c.finetune.backend !== 'local') {
    out.push({ path: ['finetune', 'training', 'match'], message: `only the local trainer counts training tokens to match (backend is ${c.finetune.backend}); use match "epochs"` });
  }
  if (t.thinking && c.finetune.backend === 'openai') {
    out.push({ path: ['finetune', 'training', 'thinking'], message: 'thinking is the chat-template switch of a local or command student; the openai backend has none' });
  }
  if (t.answerFormat === 'reasoning') {
    c.domains.forEach((d, i) =>
      d.baselines.forEach((b, j) => {
        if (!BASELINE_HAS_RATIONALES[b.format]) {
          out.push({ path: ['domains', i, 'baselines', j, 'format'], message: `an ${b.format} baseline has no rationales to train reasoning on; set finetune.training.answerFormat "answer-only" or "auto", or give it as chat rows with reasoning` });
        }
      }),
    );
  }
  const e = c.evaluate;
  if (e && c.finetune.backend !== 'openai') {
    if (e.thinking !== undefined && e.thinking !== t.thinking) {
      out.push({ path: ['evaluate', 'thinking'], message: `the student is trained with thinking ${t.thinking ? 'on' : 'off'} (finetune.training.thinking); evaluate it in the same mode` });
    }
    // vLLM renders a Qwen3 template with thinking on unless the request says otherwise.
    if (e.via === 'endpoint' && e.thinking === undefined && familyOf(c.finetune.baseModel).thinkingSwitch) {
      out.push({ path: ['evaluate', 'thinking'], message: `set it for a ${familyOf(c.finetune.baseModel).label} student served at an endpoint (${t.thinking}, as trained): unset, the server's template decides` });
    }
  }
  return out;
}
