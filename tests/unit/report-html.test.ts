import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reportHtml } from '../../activities/dataset/report-html.js';
import { discriminationLine, levelDistributions, verifiedLine, verifiedShare } from '../../activities/dataset/measures.js';
import { workflowUrl } from '../../common/web-ui.js';
import { HOSTILE_EXPLANATION, HOSTILE_QUESTION, HOSTILE_STDOUT, reportCalibration, reportEpisodes, reportExamples, RUN } from '../support/report-episodes.js';

const webUi = { url: 'http://ui.test:8233/', namespace: 'team a' };
const html = reportHtml({ runId: RUN, episodes: reportEpisodes(), examples: reportExamples(), calibration: reportCalibration(), webUi });

/** Every `<article …>` opening tag, as attribute maps. */
function articles(doc: string): Record<string, string>[] {
  return [...doc.matchAll(/<article class="episode"([^>]*)>/g)].map((m) => Object.fromEntries([...m[1]!.matchAll(/ ([a-z-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

describe('report.html builder', () => {
  it('shows every episode, accepted and rejected, with its outcome, level and domain as filter data', () => {
    expect(articles(html)).toEqual([
      { id: 'ep-math-1', 'data-outcome': 'accepted', 'data-level': 'L4', 'data-complexity': '3', 'data-domain': 'math' },
      { id: 'ep-math-2', 'data-outcome': 'prompt_leak', 'data-level': 'unscored', 'data-complexity': '', 'data-domain': 'math' },
      { id: 'ep-math-3', 'data-outcome': 'reference_unverified', 'data-level': 'unscored', 'data-complexity': '', 'data-domain': 'math' },
      { id: 'ep-math-4', 'data-outcome': 'duplicate', 'data-level': 'unscored', 'data-complexity': '', 'data-domain': 'math' },
      { id: 'ep-math-5', 'data-outcome': 'defender_correct', 'data-level': 'L3', 'data-complexity': '2', 'data-domain': 'math' },
      { id: 'ep-math-6', 'data-outcome': 'accepted', 'data-level': 'L5', 'data-complexity': '4', 'data-domain': 'math' },
    ]);
  });

  it('offers each outcome and level present, with counts, in the filters', () => {
    const options = (id: string) => [...html.slice(html.indexOf(`id="${id}"`)).split('</select>')[0]!.matchAll(/<option value="([^"]*)">([^<]*)<\/option>/g)].map((m) => [m[1], m[2]]);
    expect(options('filter-outcome')).toEqual([
      ['', 'all (6)'], ['accepted', 'accepted (2)'], ['duplicate', 'duplicate (1)'], ['defender_correct', 'defender_correct (1)'],
      ['reference_unverified', 'reference_unverified (1)'], ['prompt_leak', 'prompt_leak (1)'],
    ]);
    expect(options('filter-level')).toEqual([['', 'all (6)'], ['L1', 'L1 (0)'], ['L2', 'L2 (0)'], ['L3', 'L3 (1)'], ['L4', 'L4 (1)'], ['L5', 'L5 (1)'], ['unscored', 'unscored (3)']]);
  });

  it('escapes model-written text everywhere: only its own script tag, no injected element or attribute', () => {
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toContain('<img');
    expect(html).not.toContain(HOSTILE_QUESTION);
    expect(html).not.toContain(HOSTILE_EXPLANATION);
    expect(html).toContain('&lt;script&gt;alert(&quot;q&quot;)&lt;/script&gt; What is {{question}}?');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt; fine &amp; dandy');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(&#39;out&#39;)&lt;/script&gt;86.7');
    expect(html).not.toContain(HOSTILE_STDOUT);
  });

  it('allows its one inline script by hash and nothing else to load', () => {
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1]!;
    expect(csp).toBe(`default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; script-src &#39;sha256-${createHash('sha256').update(script).digest('base64')}&#39;`);
    expect(html).not.toMatch(/<(link|img|iframe)\b|src="/);
  });

  it('links each episode to its page in the Temporal web UI, and none from a base that is not http(s)', () => {
    const href = 'http://ui.test:8233/namespaces/team%20a/workflows/nanoflux-rpt%2Fmath%2Fep-000003';
    expect(workflowUrl(webUi, 'nanoflux-rpt/math/ep-000003')).toBe(href);
    expect(html).toContain(`<a class="web-ui" href="${href}"`);
    expect(html.match(/class="web-ui"/g)).toHaveLength(6);
    const bad = reportHtml({ runId: RUN, episodes: reportEpisodes(), examples: [], webUi: { url: 'javascript:alert(1)//', namespace: 'x' } });
    expect(bad).not.toContain('class="web-ui"');
    expect(reportHtml({ runId: RUN, episodes: reportEpisodes(), examples: [] })).not.toContain('class="web-ui"');
  });

  it('shows why each episode ended: the check and its output, the verdict, the tool calls, the nearest neighbour', () => {
    const part = (n: number) => html.slice(html.indexOf(`id="ep-math-${n}"`), html.indexOf('</article>', html.indexOf(`id="ep-math-${n}"`)));
    expect(part(2)).toContain('Why: contains a template placeholder');
    expect(part(3)).toContain('data-verified="false"');
    expect(part(3)).toContain('<pre class="stdout">85\n</pre>');
    expect(part(3)).toContain('print(round(120 * 0.85 ** 2, 1))');
    expect(part(3)).toContain('Why: the program printed 85, not the stated answer 86.7');
    expect(part(4)).toContain('Nearest neighbour');
    expect(part(4)).toContain('0.974');
    expect(part(5)).toContain('<dt>Judge overruled on</dt><dd>1 Defender answer</dd>');
    // The Judge said wrong, the numeric rule said right and won: the final word is the rule's.
    expect(part(5)).toContain('<td>86.7</td><td>no</td><td>rule</td><td>yes</td>');
    expect(part(1)).toContain('<td>84 L</td><td>no</td><td>rule</td><td>no</td>');
    expect(part(5)).toContain('ZeroDivisionError');
    expect(part(5)).toContain("Judge's tool calls (2)");
    expect(part(1)).toContain('<dt>Defender decided by</dt><dd>rule</dd>');
    expect(part(1)).toContain('Recomputed 86.7 with the calculator.');
  });

  it('heads the page with counts, calibration, the verified share, tool calls per verdict and the level distributions', () => {
    const head = html.slice(0, html.indexOf('<nav'));
    expect(head).toContain('6 episodes, 2 accepted (33.3%)');
    expect(head).toContain('math: judge judge-1 passed calibration on 40 gsm8k-train items');
    expect(head).toContain('<td>math</td><td>referenceCorrect</td><td class="n">83%</td>');
    expect(head).toContain('2 of 2 accepted examples (100%) have a reference confirmed by an executed check (the Attacker&#39;s program run in the sandbox: 2)');
    expect(head).toContain('3 Judge tool calls over 3 verdicts: 1.00 per verdict');
    expect(head).toContain('the Judge overruled by a deterministic check in 1 episode.');
    expect(head).toContain('quality level: 2 accepted examples, too few to tell');
  });

  it('says plainly when the Judge was not calibrated, or accepted below the bar', () => {
    expect(reportHtml({ runId: RUN, episodes: [], examples: [] })).toContain('The Judge was not calibrated for this run');
    const failed = reportCalibration().map((o) => ('report' in o ? { ...o, report: { ...o.report, passed: false, reasons: ['referenceCorrect below 75%'] } } : o));
    const accepted = reportHtml({ runId: RUN, episodes: [], examples: [], calibration: failed, judgeAccepted: { by: 'ana' } });
    expect(accepted).toContain('<li class="flag">math: judge judge-1 FAILED calibration');
    expect(accepted).toContain('<li class="flag">The Judge was accepted below the bar by ana');
    const skipped = reportHtml({ runId: RUN, episodes: [], examples: [], calibration: [{ domain: 'bio', skipped: 'no labelled calibration set for pack "none"' }] });
    expect(skipped).toContain('<li class="flag">bio: the Judge was not calibrated (no labelled calibration set for pack &quot;none&quot;)</li>');
  });

  it('is the same text for the same input', () => {
    expect(reportHtml({ runId: RUN, episodes: reportEpisodes(), examples: reportExamples(), calibration: reportCalibration(), webUi })).toBe(html);
  });
});

describe('what the run measured', () => {
  const examples = (levels: string[]) => reportExamples().concat(reportExamples()).concat(reportExamples()).slice(0, levels.length).map((e, i) => ({ ...e, qualityLevel: levels[i]!, complexity: i % 5 + 1 }));

  it('flags a level that holds more than 80% of at least 3 accepted examples, and names it', () => {
    const [complexity, quality] = levelDistributions(examples(['L5', 'L5', 'L5', 'L5', 'L5', 'L4']));
    expect(quality!.notDiscriminating).toEqual({ level: 'L5', count: 5, share: 5 / 6 });
    expect(discriminationLine(quality!)).toBe('quality level: NOT DISCRIMINATING — level L5 holds 5 of 6 accepted examples (83%, over the 80% bar)');
    expect(complexity!.notDiscriminating).toBeUndefined();
    expect(levelDistributions(examples(['L5', 'L5', 'L5', 'L5', 'L4']))[1]!.notDiscriminating).toBeUndefined();
    expect(levelDistributions(examples(['L5', 'L5']))[1]!.notDiscriminating).toBeUndefined();
    expect(levelDistributions(examples(['L5', 'L5', 'L5']))[1]!.notDiscriminating).toMatchObject({ level: 'L5', count: 3 });
  });

  it('never says verified where no executed check confirmed the reference', () => {
    const judged = reportExamples().map((e) => ({ ...e, verification: { method: 'none' as const, verified: null } }));
    expect(verifiedLine(verifiedShare(judged))).toBe("No accepted example's reference was confirmed by an executed check (0 of 2); 2 on the Judge's word alone (no executed check applies).");
    const old = reportExamples().map(({ verification: _v, ...e }) => e);
    expect(verifiedLine(verifiedShare(old))).toBe("No accepted example's reference was confirmed by an executed check (0 of 2); 2 exported before checks were recorded.");
  });
});
