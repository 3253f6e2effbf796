/**
 * --mask / SOCKLENS_MASK for reports. The report is judged on raw records (an exception's CIDR
 * must see the real address), then everything it prints is masked: record fields, the key's
 * address, free text (messages, command lines, reasons, paragraph data). Pure.
 */

import type { Cidr } from "../../net/cidr.js";
import type { FindingRecord } from "../baseline/finding-record.js";
import { patternKey } from "../baseline/patterns.js";
import { maskAddress, maskText } from "../mask.js";
import type { Report, ReportItem } from "./build.js";
import { patternOfRecord } from "./input.js";
import type { Text } from "./text.js";

export function maskRecord(r: FindingRecord, masks: readonly Cidr[]): FindingRecord {
  if (masks.length === 0) return r;
  const p = patternOfRecord(r);
  const out: FindingRecord = { ...r, message: maskText(r.message, masks) };
  if (r.peerAddress !== undefined) out.peerAddress = maskAddress(r.peerAddress, masks);
  if (r.localAddress !== undefined) out.localAddress = maskAddress(r.localAddress, masks);
  if (r.cmdline !== undefined) out.cmdline = maskText(r.cmdline, masks);
  if (r.peerIdentity !== undefined) out.peerIdentity = maskText(r.peerIdentity, masks);
  if (r.suppressed) out.suppressed = { ...r.suppressed, reason: maskText(r.suppressed.reason, masks) };
  out.key = patternKey(p.address !== undefined ? { ...p, address: maskAddress(p.address, masks) } : p);
  return out;
}

function maskItem(i: ReportItem, masks: readonly Cidr[]): ReportItem {
  const out: ReportItem = { ...i, record: maskRecord(i.record, masks) };
  if (i.confirmed) out.confirmed = { ...i.confirmed, reason: maskText(i.confirmed.reason, masks) };
  if (i.suppressed) out.suppressed = { ...i.suppressed, reason: maskText(i.suppressed.reason, masks) };
  if (i.expiredAck) out.expiredAck = { ...i.expiredAck, reason: maskText(i.expiredAck.reason, masks) };
  return out;
}

function maskSegments(t: Text, masks: readonly Cidr[]): Text {
  return t.map((s) =>
    "data" in s ? { data: maskText(s.data, masks) } : "code" in s ? { code: maskText(s.code, masks) } : s,
  );
}

export function maskReport(r: Report, masks: readonly Cidr[]): Report {
  if (masks.length === 0) return r;
  return {
    ...r,
    workloads: r.workloads.map((w) => ({
      ...w,
      title: maskText(w.title, masks),
      items: w.items.map((i) => maskItem(i, masks)),
      suppressed: w.suppressed.map((i) => maskItem(i, masks)),
      paragraph: maskSegments(w.paragraph, masks),
    })),
  };
}
