// Reading a replica's log: the decoder of the logs API's multiplexed frames, and the reader against
// a real podman (a container started from the busybox test image), including its refusal to read a
// container that is not the requested service's replica.
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogStream, type ContainerLogsRequest, type SendContainerLogsRequest } from "@slipway/proto";
import { BASE_IMAGE } from "../../../test-support/registry.js";
import { removeContainersWithLabel } from "../../../test-support/containers.js";
import { LABELS, connect, pullImage } from "../runtime/containers.js";
import { LogDecoder, StopRequested, readContainerLogs, type ReadOutcome } from "./container-logs.js";

const run = promisify(execFile);

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("the log decoder", () => {
  it("reads whole lines of both streams, in order, with their timestamps", () => {
    const decoder = new LogDecoder({ tty: false, timestamps: true });
    const lines = decoder.push(
      Buffer.concat([
        frame(1, "2026-12-02T03:00:00.123456789Z hello\n"),
        frame(2, "2026-12-02T03:00:01.5+00:00 oops\r\n"),
      ]),
    );
    expect(lines).toEqual([
      { stream: "stdout", line: "hello", time: new Date("2026-12-02T03:00:00.123Z"), truncated: false },
      { stream: "stderr", line: "oops", time: new Date("2026-12-02T03:00:01.500Z"), truncated: false },
    ]);
  });

  it("reassembles frames split anywhere, even inside the header, byte by byte", () => {
    const body = Buffer.concat([frame(1, "first line\nsecond "), frame(2, "an error\n"), frame(1, "line\n")]);
    const decoder = new LogDecoder({ tty: false, timestamps: false });
    const lines = [...body].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(lines.map((l) => [l.stream, l.line])).toEqual([
      ["stdout", "first line"],
      ["stderr", "an error"],
      ["stdout", "second line"],
    ]);
  });

  it("keeps each stream's partial line apart, and emits a last line without its newline at the end", () => {
    const decoder = new LogDecoder({ tty: false, timestamps: false });
    expect(decoder.push(Buffer.concat([frame(1, "out-"), frame(2, "err-"), frame(1, "put\nrest")]))).toEqual([
      { stream: "stdout", line: "out-put", truncated: false },
    ]);
    expect(decoder.push(frame(2, "or\n"))).toEqual([{ stream: "stderr", line: "err-or", truncated: false }]);
    expect(decoder.end()).toEqual([{ stream: "stdout", line: "rest", truncated: false }]);
  });

  it("cuts a long line at the cap without splitting a character, and drops the rest of it", () => {
    const decoder = new LogDecoder({ tty: false, timestamps: false, maxLineBytes: 10 });
    const long = `abcdefghié${"x".repeat(30)}`; // é is two bytes, at bytes 9-10
    const lines = [
      ...decoder.push(frame(1, long.slice(0, 12))),
      ...decoder.push(frame(1, `${long.slice(12)}\nnext\n`)),
    ];
    expect(lines).toEqual([
      { stream: "stdout", line: "abcdefghi", truncated: true },
      { stream: "stdout", line: "next", truncated: false },
    ]);
  });

  it("reads a TTY container's raw output as stdout", () => {
    const decoder = new LogDecoder({ tty: true, timestamps: false });
    expect(decoder.push(Buffer.from("one\ntw"))).toEqual([{ stream: "stdout", line: "one", truncated: false }]);
    expect(decoder.push(Buffer.from("o\n"))).toEqual([{ stream: "stdout", line: "two", truncated: false }]);
  });
});

describe("reading a container's log from podman", () => {
  const docker = connect(process.env.CONTAINER_SOCKET ?? "/run/podman/podman.sock");
  const marker = `test-${randomBytes(4).toString("hex")}`;
  const serviceId = randomUUID();
  const deploymentId = randomUUID();
  let containerId: string;

  const request = (overrides: Partial<ContainerLogsRequest> = {}): ContainerLogsRequest => ({
    requestId: randomUUID(),
    serviceId,
    deploymentId,
    replicaIndex: 0,
    containerId,
    tail: 100,
    follow: false,
    since: undefined,
    ...overrides,
  });

  /** Collects what the reader sends; `answer` decides each reply. */
  function collector(answer: (message: SendContainerLogsRequest) => boolean = () => false) {
    const messages: SendContainerLogsRequest[] = [];
    const lines = () =>
      messages.flatMap((m) =>
        m.event?.$case === "chunk"
          ? m.event.value.lines.map((l) => `${l.stream === LogStream.LOG_STREAM_STDERR ? "err" : "out"}:${l.line}`)
          : [],
      );
    const send = async (message: SendContainerLogsRequest) => {
      messages.push(message);
      return { stop: answer(message) };
    };
    return { messages, lines, send };
  }

  beforeAll(async () => {
    await pullImage(docker, BASE_IMAGE, () => {});
    const container = await docker.createContainer({
      Image: BASE_IMAGE,
      // Three lines at once, then one more each time /poke appears.
      Cmd: [
        "sh",
        "-c",
        "echo line-1; echo line-2 >&2; echo line-3; " +
          "n=0; while true; do if [ -e /poke ]; then rm /poke; n=$((n+1)); echo poked-$n; fi; sleep 0.05; done",
      ],
      Labels: {
        "test.marker": marker,
        [LABELS.managed]: "true",
        [LABELS.service]: serviceId,
        [LABELS.deployment]: deploymentId,
        [LABELS.replica]: "0",
      },
    });
    containerId = container.id;
    await container.start();
  });
  afterAll(() => removeContainersWithLabel(`test.marker=${marker}`));

  async function poke(): Promise<void> {
    await run("podman", ["exec", containerId, "touch", "/poke"]);
  }

  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("sends the last lines of both streams with their times, then an empty end", async () => {
    const { messages, lines, send } = collector();
    let result: ReadOutcome | undefined;
    // The container may not have printed all three yet: read until it has.
    for (let i = 0; i < 100 && lines().length < 3; i++) {
      messages.length = 0;
      result = await readContainerLogs(docker, request(), send, new AbortController().signal);
    }
    expect(result).toEqual({ outcome: "ended", reason: "the log ended" });
    // Each stream in order; podman reads stdout and stderr through separate pipes, so how lines of the
    // two interleave is not fixed.
    expect(lines().filter((l) => l.startsWith("out:"))).toEqual(["out:line-1", "out:line-3"]);
    expect(lines().filter((l) => l.startsWith("err:"))).toEqual(["err:line-2"]);
    const first = messages[0]?.event?.$case === "chunk" ? messages[0].event.value.lines[0] : undefined;
    expect(Math.abs((first?.time?.getTime() ?? 0) - Date.now())).toBeLessThan(120_000);
    expect(messages.at(-1)?.event).toEqual({ $case: "end", value: { error: "" } });

    const tail = collector();
    await readContainerLogs(docker, request({ tail: 1 }), tail.send, new AbortController().signal);
    expect(tail.lines()).toHaveLength(1);
    expect(lines().at(-1)).toBe(tail.lines()[0]);
  });

  it("follows new lines as they are printed, and stops reading when told nobody reads any more", async () => {
    let stopAfter = Number.POSITIVE_INFINITY;
    const { messages, lines, send } = collector(() => lines().length >= stopAfter);
    const controller = new AbortController();
    const reading = readContainerLogs(docker, request({ tail: 1, follow: true }), send, controller.signal);
    await until(() => lines().length > 0, "the tail");
    await poke();
    await until(() => lines().some((l) => l.startsWith("out:poked-")), "a line printed while following");
    // The next batch is answered with stop: the reader ends by itself, sending no end.
    stopAfter = lines().length + 1;
    await poke();
    expect(await reading).toEqual({ outcome: "stopped", reason: "nobody reads this log any more" });
    expect(messages.some((m) => m.event?.$case === "end")).toBe(false);
  });

  it("stops following when its signal aborts (the session dropped)", async () => {
    const { lines, send } = collector();
    const controller = new AbortController();
    const reading = readContainerLogs(docker, request({ tail: 1, follow: true }), send, controller.signal);
    await until(() => lines().length > 0, "the tail");
    controller.abort(new StopRequested("the session dropped"));
    expect(await reading).toEqual({ outcome: "stopped", reason: "the session dropped" });
  });

  it("refuses a container that is not a replica of the requested service, and one not on this host", async () => {
    const other = collector();
    const result = await readContainerLogs(
      docker,
      request({ serviceId: randomUUID() }),
      other.send,
      new AbortController().signal,
    );
    expect(result).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/is not a replica Slipway runs/) });
    expect(other.lines()).toEqual([]);
    expect(other.messages).toEqual([
      { requestId: expect.any(String), event: { $case: "end", value: { error: result.reason } } },
    ]);

    const wrongReplica = collector();
    expect(
      (await readContainerLogs(docker, request({ replicaIndex: 1 }), wrongReplica.send, new AbortController().signal))
        .reason,
    ).toMatch(/not a replica/);

    const missing = collector();
    expect(
      (
        await readContainerLogs(
          docker,
          request({ containerId: "0".repeat(64) }),
          missing.send,
          new AbortController().signal,
        )
      ).reason,
    ).toMatch(/is not on this host/);
  });
});
