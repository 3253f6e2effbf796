/** The snapshot file format (`socklens snapshot`), its check, and its default file name. */
import { z } from "zod";
import { describeIssue, formatPath, valueAt } from "../api/validate.js";
import type { Socket } from "./socket.js";

export const SNAPSHOT_KIND = "SocklensSnapshot";
export const SNAPSHOT_VERSION = "v1";

export interface SnapshotMetadata {
  hostname: string;
  kernel: string;
  bootId: string;
  /** UTC, ISO 8601. */
  timestamp: string;
  collectorVersion: string;
  /** Who ran it: user name (uid). */
  user: string;
  role: string;
}

export interface Snapshot {
  kind: typeof SNAPSHOT_KIND;
  version: typeof SNAPSHOT_VERSION;
  metadata: SnapshotMetadata;
  namespaces: { inode: number; name?: string; processes: number }[];
  sockets: Socket[];
}

/** `host-role-timestamp-socklens.json`, timestamp in compact UTC so names sort by time. */
export function defaultSnapshotName(meta: Pick<SnapshotMetadata, "hostname" | "role" | "timestamp">): string {
  const ts = meta.timestamp
    .replace(/\.\d+Z$/, "Z")
    .replaceAll("-", "")
    .replaceAll(":", "");
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._]+/g, "_");
  return `${safe(meta.hostname)}-${safe(meta.role)}-${ts}-socklens.json`;
}

const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65535);

/**
 * The socket record as docs/output.md describes it: the fields every record has are
 * required, the others optional, unknown ones kept (fields are only ever added within v1).
 */
const SocketRecord = z.looseObject({
  protocol: z.enum(["tcp", "udp", "raw", "unix"]),
  family: z.enum(["inet", "inet6", "unix"]),
  localAddress: z.string(),
  localPort: port,
  remoteAddress: z.string(),
  remotePort: port,
  state: z.string(),
  inode: count,
  netns: count,
  netnsName: z.string().optional(),
  uid: count.optional(),
  user: z.string().optional(),
  pid: count.optional(),
  process: z.string().optional(),
  cmdline: z.string().optional(),
  processes: z.array(z.looseObject({ pid: count, process: z.string() })).optional(),
  container: z.looseObject({ id: z.string(), runtime: z.string() }).optional(),
  pod: z
    .looseObject({
      uid: z.string(),
      name: z.string().optional(),
      namespace: z.string().optional(),
      serviceAccount: z.string().optional(),
      workload: z.looseObject({ kind: z.string(), name: z.string() }).optional(),
    })
    .optional(),
  remote: z
    .looseObject({
      kind: z.enum(["pod", "service", "node", "external"]),
      namespace: z.string().optional(),
      name: z.string().optional(),
    })
    .optional(),
  txQueue: count.optional(),
  rxQueue: count.optional(),
  timer: z.looseObject({ kind: z.string(), expiresInMs: z.number() }).optional(),
  retransmits: count.optional(),
  path: z.string().optional(),
  unixType: z.string().optional(),
});

const SnapshotSchema = z.looseObject({
  kind: z.literal(SNAPSHOT_KIND),
  version: z.literal(SNAPSHOT_VERSION),
  metadata: z.looseObject({
    hostname: z.string(),
    kernel: z.string(),
    bootId: z.string(),
    timestamp: z.string(),
    collectorVersion: z.string(),
    user: z.string(),
    role: z.string(),
  }),
  namespaces: z.array(z.looseObject({ inode: count, name: z.string().optional(), processes: count })),
  sockets: z.array(SocketRecord),
});

/**
 * A check of a parsed snapshot against the format in docs/output.md; returns what is wrong
 * (the first problem, with its field path, and how many more there are) or null.
 */
export function snapshotProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const v = value as Partial<Snapshot>;
  if (v.kind !== SNAPSHOT_KIND) return `"kind" is ${JSON.stringify(v.kind)}, expected "${SNAPSHOT_KIND}"`;
  if (v.version !== SNAPSHOT_VERSION)
    return `"version" is ${JSON.stringify(v.version)}, expected "${SNAPSHOT_VERSION}"`;
  const r = SnapshotSchema.safeParse(value);
  if (r.success) return null;
  const [first] = r.error.issues;
  if (!first) return "does not match the snapshot format";
  const more = r.error.issues.length - 1;
  return `${formatPath(first.path)}: ${describeIssue(first, valueAt(value, first.path))}${more > 0 ? ` (and ${more} more problem(s))` : ""}`;
}
