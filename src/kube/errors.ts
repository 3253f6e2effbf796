/** What went wrong in a call to the API server, in one line for stats and logs. */
export function apiErrorText(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  // The body is the API server's Status (reason and message); long ones are cut.
  const detail = typeof e.body === "string" ? e.body.slice(0, 300) : (e.message ?? String(err));
  return `${e.code ? `HTTP ${e.code}: ` : ""}${detail}`;
}
