import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { parseRunConfig } from '../../common/config.js';
import { readEnv } from '../../common/env.js';
import { SA } from '../../common/search-attributes.js';
import { episodeWorkflowId } from '../../workflows/logic/ids.js';
import { type ReviewItem, reviewQuery, reviewSignal } from '../../workflows/messages.js';
import { describeRun, fromWorker, listWorkflows, runInput, withClient } from '../lib/client.js';
import { hinted, OperationalError, UserError } from '../lib/errors.js';
import { renderReviewItem } from '../lib/format.js';
import { exitWith, out } from '../lib/output.js';

interface ReviewOptions {
  approve?: string[];
  reject?: string[];
  note?: string;
  reviewer?: string;
  domain?: string;
}

/**
 * `review <run>`: in review mode an accepted example waits in its episode workflow for a human.
 * Without --approve/--reject, lists what waits (found by NanofluxStage="review", shown by each
 * episode's `reviewItem` query); with them, sends the `review` signal to those episodes.
 */
export function registerReviewCommands(program: Command): void {
  program
    .command('review')
    .summary('list, approve or reject examples awaiting review')
    .description('list the accepted examples that wait for approval (review mode), or approve/reject them')
    .argument('<run>', 'the run id')
    .option('--approve <episode...>', 'approve these episodes (numbers, full workflow ids, or all)')
    .option('--reject <episode...>', 'reject these episodes (numbers, full workflow ids, or all)')
    .option('--note <text>', 'a note kept with the decision')
    .option('--reviewer <name>', 'who decided (default: your user name)')
    .option('--domain <name>', 'the domain episode numbers belong to (needed when the run has several); filters the list')
    .action(async (runId: string, opts: ReviewOptions, cmd: Command) => {
      const o = out(cmd);
      const deciding = Boolean(opts.approve?.length || opts.reject?.length);
      if (!deciding && (opts.note || opts.reviewer)) throw new UserError(hinted('--note and --reviewer go with --approve or --reject', `e.g. nanoflux review ${runId} --approve 3 --note "clear and correct"`));
      await withClient(async (client) => {
        const { description } = await describeRun(client, runId);
        const running = description.status.name === 'RUNNING';
        if (!deciding) {
          const items = running ? await awaiting(client, runId, opts.domain) : [];
          const human = items.length
            ? `${items.length} example(s) of ${runId} await review:\n\n${items.map((i) => renderReviewItem(i)).join('\n\n')}\n\ndecide: nanoflux review ${runId} --approve <episode…|all> | --reject <episode…|all> [--note text]`
            : `no example of ${runId} awaits review${running ? await reviewModeNote(client, runId) : ` (the run is ${description.status.name.toLowerCase()})`}`;
          o.print(human, { runId, awaiting: items });
          return;
        }
        if (!running) throw new OperationalError(hinted(`run ${runId} is ${description.status.name.toLowerCase()}, so nothing awaits review`, `\`nanoflux status ${runId}\` shows how it ended`));
        const decisions = await decide(client, runId, opts);
        const failed = decisions.filter((d) => !d.ok);
        const human = decisions
          .map((d) => (d.ok ? `${d.approve ? 'approved' : 'rejected'} ${d.workflowId}` : `not decided ${d.workflowId}: ${d.error}`))
          .join('\n');
        o.print(human || 'nothing to decide: no example awaits review', { runId, decisions });
        if (failed.length) {
          console.error(`nanoflux: ${hinted(`${failed.length} of ${decisions.length} decision(s) not sent`, `\`nanoflux review ${runId}\` lists the examples that wait`)}`);
          exitWith(1);
        }
      });
    });
}

/** Episodes of the run that wait for review now, with what each shows. */
async function awaiting(client: Client, runId: string, domain?: string): Promise<ReviewItem[]> {
  const query = [`${SA.runId.name}="${runId}"`, `${SA.kind.name}="episode"`, `${SA.stage.name}="review"`, 'ExecutionStatus="Running"', ...(domain ? [`${SA.domain.name}="${domain}"`] : [])].join(' AND ');
  const ids = (await listWorkflows(client, query)).map((w) => w.workflowId);
  const items = await Promise.all(ids.map((id) => fromWorker(client.workflow.getHandle(id).query(reviewQuery), `the review query of ${id}`).catch(() => null)));
  return items.filter((i): i is ReviewItem => i !== null).sort((a, b) => a.domain.localeCompare(b.domain) || a.episode - b.episode);
}

async function reviewModeNote(client: Client, runId: string): Promise<string> {
  const parsed = parseRunConfig(await runInput(client, runId).catch(() => undefined));
  return parsed.ok && !parsed.config.generation.review ? ' (review mode is off for this run: generation.review in its config turns it on)' : '';
}

interface Decision {
  workflowId: string;
  approve: boolean;
  ok: boolean;
  error?: string;
}

async function decide(client: Client, runId: string, opts: ReviewOptions): Promise<Decision[]> {
  const domains = await runDomains(client, runId);
  const resolve = async (tokens: string[] | undefined): Promise<string[]> => {
    if (!tokens?.length) return [];
    if (tokens.includes('all')) {
      if (tokens.length > 1) throw new UserError(hinted('`all` stands alone', `e.g. nanoflux review ${runId} --approve all`));
      return (await awaiting(client, runId, opts.domain)).map((i) => i.workflowId);
    }
    return tokens.map((t) => episodeId(runId, t, domains, opts.domain));
  };
  const approve = await resolve(opts.approve);
  const reject = await resolve(opts.reject);
  const both = approve.filter((id) => reject.includes(id));
  if (both.length) throw new UserError(hinted(`${both.join(', ')} is both approved and rejected`, 'name each episode once'));
  const reviewer = opts.reviewer ?? currentUser();
  const send = async (workflowId: string, ok: boolean): Promise<Decision> => {
    const h = client.workflow.getHandle(workflowId);
    try {
      // The episode takes only a decision sent while it shows its example: check it is waiting first.
      const item = await fromWorker(h.query(reviewQuery), `the review query of ${workflowId}`);
      if (!item) return { workflowId, approve: ok, ok: false, error: 'it awaits no review (already decided, not accepted, or not in review mode)' };
      await h.signal(reviewSignal, { approve: ok, ...(reviewer ? { reviewer } : {}), ...(opts.note ? { note: opts.note } : {}) });
      return { workflowId, approve: ok, ok: true };
    } catch (e) {
      const error = e instanceof WorkflowNotFoundError ? 'no such episode' : /already completed|not found/i.test((e as Error).message) ? 'the episode is over' : (e as Error).message;
      return { workflowId, approve: ok, ok: false, error };
    }
  };
  return await Promise.all([...approve.map((id) => send(id, true)), ...reject.map((id) => send(id, false))]);
}

async function runDomains(client: Client, runId: string): Promise<string[]> {
  const parsed = parseRunConfig(await runInput(client, runId));
  return parsed.ok ? parsed.config.domains.map((d) => d.name) : [];
}

/** `7` → the episode workflow id (in --domain, or the run's one domain); a full episode workflow id passes as it is. */
function episodeId(runId: string, token: string, domains: string[], domain: string | undefined): string {
  if (token.startsWith(`nanoflux-${runId}/`)) return token;
  if (!/^\d+$/.test(token)) throw new UserError(hinted(`"${token}" is not an episode`, `give episode numbers, full episode workflow ids (nanoflux-${runId}/<domain>/ep-000007) or all`));
  if (domain && domains.length && !domains.includes(domain)) throw new UserError(hinted(`run ${runId} has no domain "${domain}"`, `its domains: ${domains.join(', ')}`));
  const d = domain ?? (domains.length === 1 ? domains[0] : undefined);
  if (!d) throw new UserError(hinted(`run ${runId} has several domains (${domains.join(', ')}), so episode ${token} is ambiguous`, 'name one with --domain <name>, or give full episode workflow ids'));
  return episodeWorkflowId(runId, d, Number(token));
}

function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return readEnv().user;
  }
}
