import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import type { Budget } from '../../workflows/logic/progress.js';
import { readEnv } from '../../common/env.js';
import { acceptJudgeSignal, pauseSignal, resumeSignal, setBudgetUpdate, setConcurrencyUpdate, setTargetUpdate, statusQuery, stopSignal } from '../../workflows/messages.js';
import { executeUpdate, fromWorker, runningRun, withClient } from '../lib/client.js';
import { hinted, OperationalError, UserError, withTimeout } from '../lib/errors.js';
import { budgetHint, count, usd } from '../lib/format.js';
import { out, positiveInt, positiveNumber } from '../lib/output.js';

/** Operating a running run: pause, resume, stop, and the limits it runs under. */
export function registerControlCommands(program: Command): void {
  const signals = {
    pause: { signal: pauseSignal, about: 'pause a run: episodes in flight finish and are kept, no new ones start', done: (r: string) => `paused ${r}: episodes in flight finish and are kept; go on with \`nanoflux resume ${r}\`` },
    resume: { signal: resumeSignal, about: 'resume a run paused by `nanoflux pause`, by preflight (it checks again) or by a domain\'s circuit breaker (a run paused by its budget needs `nanoflux set-budget`, one paused by its Judge\'s calibration `--accept-judge`)', done: (r: string) => `resumed ${r}: preflight checks again if it had failed, an open circuit breaker closes (a run over its budget stays paused until \`nanoflux set-budget\` raises it)` },
    stop: { signal: stopSignal, about: 'stop a run for good: episodes in flight finish, then it exports what it has', done: (r: string) => `stopping ${r}: episodes in flight finish, then it exports what it has` },
  } as const;
  for (const [name, s] of Object.entries(signals)) {
    const c = program
      .command(name)
      .summary(s.about.split(/[:(]/)[0]!.trim())
      .description(s.about)
      .argument('<run>', 'the run id');
    if (name === 'resume') c.option('--accept-judge', 'go on with a Judge that failed its calibration (the run paused before generating); recorded as accepted by $USER in status, memo, report and dataset card');
    c.action(async (runId: string, opts: { acceptJudge?: boolean }, cmd: Command) => {
      if (opts.acceptJudge) return acceptJudge(runId, cmd);
      await withClient(async (client) => {
        const h = await runningRun(client, runId, `nanoflux ${name}`);
        if (name === 'resume') await refuseCalibrationPause(h, runId);
        await h.signal(s.signal as typeof pauseSignal);
      });
      out(cmd).print(s.done(runId), { runId, signal: name });
    });
  }

  program
    .command('set-concurrency')
    .summary('episodes in flight per domain')
    .description('change how many episodes run at once per domain')
    .argument('<run>', 'the run id')
    .argument('<n>', 'episodes in flight per domain (1–256)', positiveInt)
    .action(async (runId: string, n: number, _opts: unknown, cmd: Command) => {
      const r = await withClient(async (client) => {
        const h = await runningRun(client, runId, 'nanoflux set-concurrency');
        return await executeUpdate(h.executeUpdate(setConcurrencyUpdate, { args: [{ concurrency: n }] }), `set-concurrency on ${runId}`);
      });
      out(cmd).print(`concurrency of ${runId} is now ${r.concurrency} episodes per domain`, { runId, concurrency: r.concurrency });
    });

  program
    .command('set-target')
    .summary('accepted examples a domain stops at')
    .description('change how many accepted examples a domain (or every domain) stops at')
    .argument('<run>', 'the run id')
    .argument('<n>', 'the target of accepted examples', positiveInt)
    .option('--domain <name>', 'only this domain (default: every domain)')
    .action(async (runId: string, n: number, opts: { domain?: string }, cmd: Command) => {
      const r = await withClient(async (client) => {
        const h = await runningRun(client, runId, 'nanoflux set-target');
        return await executeUpdate(h.executeUpdate(setTargetUpdate, { args: [{ targetAccepted: n, ...(opts.domain ? { domain: opts.domain } : {}) }] }), `set-target on ${runId}`);
      });
      const human = Object.entries(r.targets).map(([d, t]) => `target of ${runId}/${d} is now ${t} accepted`).join('\n');
      out(cmd).print(human, { runId, targets: r.targets });
    });

  program
    .command('set-budget')
    .summary("raise a run's token or money budget")
    .description('raise (or lower) the token or money budget of a run; a run paused by its budget goes on once under it')
    .argument('<run>', 'the run id')
    .option('--max-tokens <n>', 'tokens, all roles and domains together', positiveInt)
    .option('--max-cost <usd>', 'USD, from the models\' prices', positiveNumber)
    .action(async (runId: string, opts: { maxTokens?: number; maxCost?: number }, cmd: Command) => {
      if (opts.maxTokens === undefined && opts.maxCost === undefined) {
        throw new UserError(hinted('set-budget needs a limit', `give --max-tokens <n> and/or --max-cost <usd>, e.g. nanoflux set-budget ${runId} --max-tokens 2000000`));
      }
      const budget: Budget = { ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}), ...(opts.maxCost !== undefined ? { maxCost: opts.maxCost } : {}) };
      const { inForce, status } = await withClient(async (client) => {
        const h = await runningRun(client, runId, 'nanoflux set-budget');
        const inForce = await executeUpdate(h.executeUpdate(setBudgetUpdate, { args: [budget] }), `set-budget on ${runId}`);
        return { inForce, status: await fromWorker(h.query(statusQuery), `the status query of run ${runId}`) };
      });
      const limits = [inForce.maxTokens !== undefined ? `max tokens ${count(inForce.maxTokens)}` : '', inForce.maxCost !== undefined ? `max cost ${usd(inForce.maxCost)}` : ''].filter(Boolean).join(' · ');
      const over = status.pausedBy?.budget;
      const human = `budget of ${runId}: ${limits}${over ? `\nstill ${budgetHint(runId, over)}` : status.paused ? '' : '; generating'}`;
      out(cmd).print(human, { runId, budget: inForce, paused: status.paused, pausedBy: status.pausedBy ?? { user: false } });
    });
}

/**
 * A plain `resume` lifts an operator's pause; a run its Judge's calibration paused waits for
 * `--accept-judge` instead, so the command says so rather than report a resume that changes nothing.
 * Asked briefly: without a worker the signal is still sent, as before.
 */
async function refuseCalibrationPause(h: WorkflowHandle, runId: string): Promise<void> {
  const st = await withTimeout(h.query(statusQuery), 3000, () => new Error('timeout')).catch(() => undefined);
  const why = st?.pausedBy?.calibration;
  if (why) throw new OperationalError(hinted(`run ${runId} is paused because ${why.replace(/; `nanoflux resume.*$/, '')}`, `go on anyway with \`nanoflux resume ${runId} --accept-judge\`, or stop it with \`nanoflux stop ${runId}\``));
}

/** `resume --accept-judge`: the operator's word to go on with a Judge below the bar, recorded with who gave it. */
async function acceptJudge(runId: string, cmd: Command): Promise<void> {
  const by = readEnv().user ?? 'cli';
  await withClient(async (client) => {
    const h = await runningRun(client, runId, 'nanoflux resume --accept-judge');
    const st = await fromWorker(h.query(statusQuery), `the status query of run ${runId}`);
    if (!st.pausedBy?.calibration) {
      const now = st.stage === 'calibrating' ? 'is still calibrating its Judge' : st.judgeAccepted ? `went on already (judge accepted by ${st.judgeAccepted.by ?? 'an operator'})` : 'is not paused by its Judge\'s calibration';
      throw new OperationalError(hinted(`run ${runId} ${now}`, `--accept-judge goes with a run its calibration paused; see \`nanoflux status ${runId}\``));
    }
    await h.signal(acceptJudgeSignal, { by });
  });
  out(cmd).print(`accepted the Judge of ${runId} despite its calibration (recorded as accepted by ${by}); it generates now`, { runId, signal: 'acceptJudge', by });
}
