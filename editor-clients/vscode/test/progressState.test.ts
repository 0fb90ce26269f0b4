import assert from "node:assert/strict";
import { test } from "node:test";
import { ProgressState } from "../src/progressState";

test("begin gives the title, the cancel button and the first report", () => {
  const state = new ProgressState();
  assert.deepEqual(state.begin({ kind: "begin", title: "o1coder: Implement with search", cancellable: true, message: "loading", percentage: 5 }), {
    title: "o1coder: Implement with search",
    cancellable: true,
    first: { message: "loading", increment: 5 },
  });
  assert.equal(new ProgressState().begin({ kind: "begin" }).cancellable, false);
});

test("percentages become increments, clamped to 0..100 and never negative", () => {
  const state = new ProgressState();
  assert.deepEqual(state.update({ kind: "report", percentage: 10 }), { increment: 10 });
  assert.deepEqual(state.update({ kind: "report", percentage: 35, message: "nodes 4" }), { message: "nodes 4", increment: 25 });
  assert.deepEqual(state.update({ kind: "report", percentage: 20 }), { increment: 0 });
  assert.deepEqual(state.update({ kind: "report", percentage: 250 }), { increment: 65 });
  assert.deepEqual(state.update({ kind: "report", message: "verify" }), { message: "verify" });
});
