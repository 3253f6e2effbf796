/** What went wrong in a call to the API server, in one line for stats and logs. */
export function apiErrorText(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  // The body is the API server's Status: its message is what matters (an admission
  // policy's denial says there why), not the JSON around it. Long ones are cut.
  const detail =
    typeof e.body === "string" ? statusMessage(e.body).slice(0, 500) : (e.message ?? String(err));
  return `${e.code ? `HTTP ${e.code}: ` : ""}${detail}`;
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (status?.kind === "Status" && typeof status.message === "string") return status.message;
  } catch {
    // not JSON: the body as it came
  }
  return body;
}
