/**
 * Reading one file of a proc tree without trusting what kind of file it is.
 *
 * Every file we read under /proc (and the passwd file) is a regular file. A fixture tree, a
 * bind mount or a hostile HOST_PROC can put something else there: a FIFO, whose open()
 * blocks until a writer appears (forever: a synchronous read hangs the process, an
 * asynchronous one a thread of libuv's pool and the scan awaiting it), or a character device
 * such as /dev/zero, which never ends (the read stops only at V8's string limit, with a
 * RangeError after half a gigabyte). So: open with O_NONBLOCK (never blocks on a FIFO; no
 * effect on regular files, /proc's included), fstat the descriptor, and read only a regular
 * file. Anything else fails like an I/O error, which the callers count and skip per entry:
 * EISDIR for a directory (what read() would say), EFTYPE ("inappropriate file type", libuv's
 * name for it) for the rest.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function notRegular(path: string, st: Stats): NodeJS.ErrnoException {
  const code = st.isDirectory() ? "EISDIR" : "EFTYPE";
  const what = st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : "not a regular file";
  return Object.assign(new Error(`${code}: ${what}, open '${path}'`), { code, path, syscall: "open" });
}

/** readFileSync for proc files: throws an errno-coded error for anything but a regular file. */
export function readProcFileSync(path: string, encoding: BufferEncoding = "utf8"): string {
  const fd = openSync(path, FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st);
    return readFileSync(fd, encoding);
  } finally {
    closeSync(fd);
  }
}

/** readFile for proc files: rejects with an errno-coded error for anything but a regular file. */
export async function readProcFile(path: string, encoding: BufferEncoding = "utf8"): Promise<string> {
  const handle = await open(path, FLAGS);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(path, st);
    return await handle.readFile({ encoding });
  } finally {
    await handle.close();
  }
}

/**
 * A process's name as /proc/<pid>/comm gives it: the text before the newline the kernel ends
 * it with. The kernel prints it from a 64-byte buffer (proc_task_name in fs/proc/array.c:
 * 15 bytes for a user process, up to 63 for a kernel thread or workqueue worker), so a longer
 * one is not a kernel's (a fixture tree, a hostile HOST_PROC): it is cut there rather than
 * carried into every table cell, learned baseline and Event that names the process. A newline
 * inside the name stays (prctl(PR_SET_NAME) allows one; output escapes it).
 */
export const COMM_MAX = 63;

export function processName(comm: string): string {
  const name = comm.endsWith("\n") ? comm.slice(0, -1) : comm;
  return name.length > COMM_MAX ? name.slice(0, COMM_MAX) : name;
}
