/** What went wrong in a call to the API server, in one line for stats and logs. */
export function apiErrorText(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  // The body is the API server's Status: its message is what matters (an admission
  // policy's denial says there why), not the JSON around it. Long ones are cut.
  const detail =
    typeof e.body === "string" ? statusMessage(e.body).slice(0, 500) : (e.message ?? String(err));
  return `${e.code ? `HTTP ${e.code}: ` : ""}${detail}`;
}

export interface ApiFailure {
  /** What kind of failure, stable across repeats: "HTTP 422 Invalid", "ECONNREFUSED", … */
  kind: string;
  /** The API server's own message (its Status.message), or the client's error message. */
  message: string;
}

/**
 * A failed call, split into a kind to group repeats by and the API server's message. The
 * Status body is parsed rather than cut, so a 422 keeps the field path and the reason.
 */
export function apiFailure(err: unknown): ApiFailure {
  const e = err as {
    code?: unknown;
    body?: unknown;
    message?: string;
    name?: string;
    cause?: { code?: unknown };
  };
  if (typeof e.code === "number") {
    let status: { reason?: string; message?: string } = {};
    if (typeof e.body === "string") {
      try {
        status = JSON.parse(e.body) as typeof status;
      } catch {
        status = { message: e.body };
      }
    } else if (typeof e.body === "object" && e.body !== null) status = e.body as typeof status;
    const kind = `HTTP ${e.code}${status.reason ? ` ${status.reason}` : ""}`;
    return { kind, message: (status.message ?? e.message ?? kind).slice(0, 2000) };
  }
  // Not an HTTP answer: the connection failed (fetch puts the errno in cause.code).
  const code = e.cause?.code ?? e.code;
  return {
    kind: typeof code === "string" ? code : (e.name ?? "Error"),
    message: e.message ?? String(err),
  };
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
