import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CHUNK_BYTES, LogShipper, splitUtf8 } from "./log-shipper.js";

const grpcError = (code: status) => Object.assign(new Error(status[code]), { code });

describe("LogShipper", () => {
  it("sends numbered chunks in order and flushes partial lines at the end", async () => {
    const sent: [number, string][] = [];
    const shipper = new LogShipper(async (seq, data) => void sent.push([seq, data.toString()]));
    shipper.write("step 1\nstep ");
    shipper.write("2\n");
    shipper.write("no newline");
    await shipper.flush();
    shipper.close();
    expect(sent.map(([seq]) => seq)).toEqual(sent.map((_, i) => i + 1));
    expect(sent.map(([, text]) => text).join("")).toBe("step 1\nstep 2\nno newline");
  });

  it("masks known secrets, even when they arrive split across writes", async () => {
    const sent: string[] = [];
    const shipper = new LogShipper(async (_seq, data) => void sent.push(data.toString()), ["ghs_s3cr3tT0ken"]);
    shipper.write("cloning https://x-access-token:ghs_s3c");
    shipper.write("r3tT0ken@github.com/acme/app\n");
    await shipper.flush();
    shipper.close();
    expect(sent.join("")).toBe("cloning https://x-access-token:***@github.com/acme/app\n");
  });

  it("resends a chunk after a transient failure without losing or reordering anything", async () => {
    const sent: number[] = [];
    let failures = 2;
    const shipper = new LogShipper(async (seq) => {
      if (seq === 2 && failures-- > 0) throw grpcError(status.UNAVAILABLE);
      sent.push(seq);
    });
    for (let i = 0; i < 3; i++) {
      shipper.line(`line ${i}`);
      await shipper.flush();
    }
    shipper.close();
    expect(sent).toEqual([1, 2, 3]);
  });

  it("reports a lost lease and stops sending", async () => {
    let lost = false;
    const shipper = new LogShipper(
      async () => {
        throw grpcError(status.FAILED_PRECONDITION);
      },
      [],
      () => (lost = true),
    );
    shipper.line("x");
    await expect(shipper.flush()).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    shipper.close();
    expect(lost).toBe(true);
  });

  it("cuts long output into chunks no larger than the limit", async () => {
    const sizes: number[] = [];
    const shipper = new LogShipper(async (_seq, data) => void sizes.push(data.length));
    shipper.write("x".repeat(CHUNK_BYTES * 2 + 10));
    await shipper.flush();
    shipper.close();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(CHUNK_BYTES * 2 + 10);
  });
});

describe("LogShipper under a flood it cannot send", () => {
  it("keeps its spool bounded, stays responsive, and marks the gap once", async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    let first = true;
    const shipper = new LogShipper(async (_seq, data) => {
      if (first) {
        first = false;
        await blocked; // the control plane is unreachable while the flood arrives
      }
      sent.push(data.toString());
    });
    const line = `${"x".repeat(1023)}\n`;
    for (let i = 0; i < 24 * 1024; i++) shipper.write(line); // 24 MiB, over the 16 MiB spool
    release();
    await shipper.flush();
    shipper.close();
    const text = sent.join("");
    const markers = text.match(/\[slipway: \d+ bytes of log were dropped here\]/g) ?? [];
    expect(markers).toHaveLength(1);
    expect(text.length).toBeLessThanOrEqual(17 * 1024 * 1024);
    expect(text.endsWith(line)).toBe(true);
  });
});

describe("splitUtf8", () => {
  it("never cuts a character in two", () => {
    const text = "✓".repeat(100); // 3 bytes each
    const parts = splitUtf8(Buffer.from(text), 10);
    expect(parts.every((p) => p.length <= 10)).toBe(true);
    expect(parts.map((p) => p.toString("utf8")).join("")).toBe(text);
  });
});
