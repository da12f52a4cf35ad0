/**
 * How durations and amounts of money are written for people: every unit
 * boundary of durations (a rounding carries into the next unit), and one
 * way of writing money at every magnitude.
 * @module
 */
import assert from "node:assert/strict";
import { formatDuration } from "../src/cli/format.ts";

Deno.test("formatDuration: each unit up to its boundary; a rounding carries into the next unit", () => {
  const cases: [number, string][] = [
    [0, "0ms"],
    [0.4, "0ms"],
    [850, "850ms"],
    [999.4, "999ms"],
    [999.5, "1.00s"],
    [999.6, "1.00s"],
    [1000, "1.00s"],
    [1234, "1.23s"],
    [59_994, "59.99s"],
    [59_995, "1m 00s"],
    [59_996, "1m 00s"],
    [60_000, "1m 00s"],
    [65_000, "1m 05s"],
    [119_400, "1m 59s"],
    [119_500, "2m 00s"],
    [119_600, "2m 00s"],
    [3_599_600, "60m 00s"],
  ];
  for (const [ms, shown] of cases) assert.equal(formatDuration(ms), shown, `${ms} ms`);
});
