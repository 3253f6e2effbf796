/** Errors the CLI turns into exit code 2 with a message, never a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export class InputError extends Error {
  override readonly name = "InputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
