/** Where the CLI writes. Injected so tests can capture output without spawning a process. */
import { writeFileSync } from "node:fs";
import type { Document } from "yaml";
import { InputError } from "./errors.js";

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: progress lines (which rewrite themselves with \r) go there only then. */
  errIsTTY?: boolean;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  get errIsTTY() {
    return process.stderr.isTTY === true;
  },
};

/**
 * `socklens scan | head` closes the pipe early: that is the reader being done, not an error
 * worth a stack trace (netstat and ss exit quietly too).
 */
export function exitQuietlyOnClosedPipe(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

/**
 * A YAML document (a baseline to review) to stdout ("-") or a file, with a header comment.
 * Returns true when it went to a file, so the caller can say so on stderr.
 */
export function writeYamlDocument(doc: Document, header: string[], output: string, io: CliIO): boolean {
  const text = renderYamlDocument(doc, header);
  if (output === "-") {
    io.out(text);
    return false;
  }
  try {
    writeFileSync(output, text);
  } catch (err) {
    throw new InputError(`cannot write ${output}: ${(err as Error).message}`, { cause: err });
  }
  return true;
}

/** The text `learn` and `baseline export` write: the document under its header comment. */
export function renderYamlDocument(doc: Document, header: string[]): string {
  doc.commentBefore = header.join("\n");
  return doc.toString({ lineWidth: 0 });
}
