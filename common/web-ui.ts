/**
 * Links into the Temporal web UI, built in one place for the CLI (scripts/lib/client.ts uiLinks)
 * and the run's report.html (activities/dataset/report-html.ts), which activities write and so
 * cannot take from scripts/. Pure: the caller reads NANOFLUX_UI_URL and the namespace.
 */
export interface WebUi {
  /** The web UI's base URL, e.g. `http://localhost:8233` (NANOFLUX_UI_URL). */
  url: string;
  namespace: string;
}

/** Only http(s) bases: the link lands in an `href`, where a `javascript:` base would run code. */
const base = (ui: WebUi): string | undefined => (/^https?:\/\//i.test(ui.url) ? ui.url.replace(/\/+$/, '') : undefined);

/** The page of one workflow (its latest execution), or undefined when the base is not an http(s) URL. */
export function workflowUrl(ui: WebUi, workflowId: string): string | undefined {
  const b = base(ui);
  return b === undefined ? undefined : `${b}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The workflow list filtered to one run by its search attribute. */
export function runListUrl(ui: WebUi, runId: string): string | undefined {
  const b = base(ui);
  return b === undefined ? undefined : `${b}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${encodeURIComponent(`NanofluxRunId="${runId}"`)}`;
}
