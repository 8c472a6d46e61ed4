import assert from "node:assert/strict";
import { test } from "node:test";
import { SerialQueue } from "../src/queue";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test("tasks run one at a time, in request order", async () => {
  const queue = new SerialQueue();
  const events: string[] = [];
  let active = 0;
  const task = (name: string) => async () => {
    active += 1;
    assert.equal(active, 1, "two tasks ran at once");
    events.push(`start ${name}`);
    await tick();
    events.push(`end ${name}`);
    active -= 1;
  };
  await Promise.all([queue.run(task("a")), queue.run(task("b")), queue.run(task("c"))]);
  assert.deepEqual(events, ["start a", "end a", "start b", "end b", "start c", "end c"]);
});

test("a restart requested while one runs is queued after it, never dropped", async () => {
  const queue = new SerialQueue();
  const runs: number[] = [];
  let n = 0;
  const restart = () =>
    queue.run(async () => {
      runs.push(++n);
      await tick();
    }, "restart");
  const first = restart();
  await tick(); // the first restart is running now
  const second = restart();
  assert.notEqual(first, second);
  await Promise.all([first, second]);
  assert.deepEqual(runs, [1, 2]);
});

test("restarts requested while one is still waiting join it (it starts after all of them)", async () => {
  const queue = new SerialQueue();
  let restarts = 0;
  let release!: () => void;
  const blocker = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
  const restart = () => queue.run(async () => void (restarts += 1), "restart");
  const a = restart();
  const b = restart();
  const c = restart();
  assert.equal(a, b);
  assert.equal(b, c);
  await tick(); // the blocker has started
  release();
  await Promise.all([blocker, a]);
  assert.equal(restarts, 1);
});

test("a failing task is reported and does not stop the queue", async () => {
  const errors: unknown[] = [];
  const queue = new SerialQueue((error) => errors.push(error));
  let ran = false;
  await queue.run(async () => {
    throw new Error("boom");
  });
  await queue.run(async () => void (ran = true));
  assert.equal(ran, true);
  assert.equal(String(errors[0]), "Error: boom");
  await queue.idle();
});
