import { createHash } from 'node:crypto';

/**
 * The fixed parts of report.html: escaping, its stylesheet and its filter script. Everything is
 * inline (no external asset), so the file works opened from disk (file://) and mailed around.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Model-written text is hostile: every value goes through here, in text and in attributes alike. */
export const esc = (v: unknown): string => (v === undefined || v === null ? '' : String(v)).replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** Long model output (a program's stdout, a tool's answer) cut to what a reader can take in; the cut is said. */
export function clip(v: unknown, max = 4000): string {
  const s = v === undefined || v === null ? '' : String(v);
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`;
}

/** A table cell: text (escaped here) or markup already built from escaped parts. */
export type Cell = string | number | { html: string };
const cellHtml = (c: Cell): string => (typeof c === 'object' ? c.html : esc(c));

export function htmlTable(head: string[], rows: Cell[][], numeric: number[] = []): string {
  const td = (c: Cell, i: number) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${cellHtml(c)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

export const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2230;background:#f6f7f9}
header{background:#fff;border-bottom:1px solid #d8dce3;padding:12px 20px}
main{padding:12px 20px}
h1{font-size:20px;margin:4px 0 8px}
h2{font-size:15px;margin:0 0 6px}
h3{font-size:13px;margin:10px 0 4px;color:#4a5263}
table{border-collapse:collapse;margin:4px 0 8px}
td,th{border:1px solid #d8dce3;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}
td.n{text-align:right}
pre{white-space:pre-wrap;word-break:break-word;background:#f1f3f6;padding:6px 8px;margin:4px 0;max-height:24em;overflow:auto}
.measures{display:flex;flex-wrap:wrap;gap:4px 28px;align-items:flex-start}
.measures>div{flex:1 1 300px;max-width:620px}
.flag{color:#a0251a;font-weight:600}
.ok{color:#1b6b35}
.muted{color:#5b6374}
nav#filters{position:sticky;top:0;background:#fff;border-bottom:1px solid #d8dce3;padding:8px 20px;z-index:1}
nav#filters label{margin-right:18px}
article.episode{background:#fff;border:1px solid #d8dce3;border-left:5px solid #9aa3b2;border-radius:4px;margin:0 0 10px;padding:8px 12px}
article.episode[hidden]{display:none}
article.episode[data-outcome=accepted]{border-left-color:#2f8f4e}
.outcome{display:inline-block;padding:0 6px;border-radius:3px;background:#e4e7ec;font-family:monospace}
.outcome-accepted{background:#d3f0dc}
.rejection{color:#7a3b00}
.web-ui{float:right;font-weight:normal;font-size:13px}
.q{font-size:15px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0}
dl.facts dt{color:#5b6374}
dl.facts dd{margin:0}
details{margin:4px 0}
summary{cursor:pointer;color:#33415c}
`;

/**
 * Shows the episodes whose `data-outcome` and `data-level` match the two selects (empty: any), and
 * counts them. Plain ES5 with no dependency, so any browser runs it from file://.
 */
export const SCRIPT = `(function () {
  var outcome = document.getElementById('filter-outcome');
  var level = document.getElementById('filter-level');
  var shown = document.getElementById('shown');
  var episodes = document.querySelectorAll('article.episode');
  function apply() {
    var n = 0;
    for (var i = 0; i < episodes.length; i++) {
      var e = episodes[i];
      var show = (!outcome.value || e.getAttribute('data-outcome') === outcome.value) && (!level.value || e.getAttribute('data-level') === level.value);
      e.hidden = !show;
      if (show) n++;
    }
    shown.textContent = n + ' of ' + episodes.length + ' episodes shown';
  }
  outcome.addEventListener('change', apply);
  level.addEventListener('change', apply);
  apply();
})();`;

/**
 * Only this script may run and nothing may load: should a piece of model text ever slip past the
 * escaping, a script it carried is still refused by the browser.
 */
export const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;
