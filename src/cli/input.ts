/**
 * Reading an input file (a baseline, a snapshot) with a size limit that holds before the
 * bytes are in memory: a 10 GB file, /dev/zero or a never-ending pipe is refused after the
 * limit, never read to the end.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { MAX_BYTES_ENV } from "../api/yaml-limits.js";
import { UsageError } from "./errors.js";

export type ReadInput = { text: string } | { problem: string };

/** `hint` follows a size problem: how to raise the limit, where there is a way. */
export function readInputFile(file: string, maxBytes: number, hint = ""): ReadInput {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    return { problem: `cannot read: ${(err as Error).message}` };
  }
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes)
      return { problem: `the file is ${size} bytes; the limit is ${maxBytes} bytes${hint}` };
    // One byte more than allowed tells "too long" from "exactly the limit"; a file whose
    // size stat knows is read into one buffer, others (pipes, /dev/zero, /proc) grow one.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, size > 0 ? size + 1 : 64 * 1024));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes)
        return { problem: `the file is longer than the limit of ${maxBytes} bytes${hint}` };
    }
    return { text: buf.toString("utf8", 0, total) };
  } catch (err) {
    return { problem: `cannot read: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** The baseline size limit: SOCKLENS_MAX_YAML_BYTES, else the default. */
export function yamlByteLimit(env: NodeJS.ProcessEnv, fallback: number): number {
  const raw = env[MAX_BYTES_ENV];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new UsageError(`${MAX_BYTES_ENV}: "${raw}" is not a positive number of bytes`);
  return Number(raw);
}
