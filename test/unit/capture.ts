/** A CliIO that keeps what the CLI writes, for tests that run `main()` in-process. */
import type { CliIO } from "../../src/cli/io.js";

export function captureIO(env: NodeJS.ProcessEnv = {}): { io: CliIO; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    io: {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      env,
    },
    out: () => out,
    err: () => err,
  };
}
