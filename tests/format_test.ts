/**
 * How durations and amounts of money are written for people: every unit
 * boundary of durations (a rounding carries into the next unit), and one
 * way of writing money at every magnitude.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { formatDuration, formatUsd, shellWord } from "../src/cli/format.ts";
import { escapeControls } from "../src/cli/terminal.ts";

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

Deno.test("formatUsd: one way at every magnitude, positional below a millionth of a dollar and from 1e21 on (never 9.0e-7, 1e+21)", () => {
  const cases: [number, string][] = [
    [0, "$0"],
    [12.345, "$12.35"],
    [1, "$1.00"],
    [0.0123, "$0.0123"],
    [0.01, "$0.0100"],
    [0.00996, "$0.010"],
    [0.00012, "$0.00012"],
    [0.0000021, "$0.0000021"],
    [0.000009, "$0.0000090"],
    [9e-7, "$0.00000090"],
    [9.96e-7, "$0.0000010"],
    [1.5e-9, "$0.0000000015"],
    [-0.0000021, "$-0.0000021"],
    // toFixed's exponent form begins at 1e21: written out, with the digits JSON shows (1.0000000000000005e+21).
    [9.99e20, "$999000000000000000000.00"],
    [1e21, "$1000000000000000000000.00"],
    [1.0000000000000005e21, "$1000000000000000500000.00"],
    [2.5e30, "$2500000000000000000000000000000.00"],
    [-1e21, "$-1000000000000000000000.00"],
  ];
  for (const [usd, shown] of cases) assert.equal(formatUsd(usd), shown, `${usd}`);
  for (let exponent = -12; exponent <= 300; exponent++) {
    assert.doesNotMatch(formatUsd(1.5 * 10 ** exponent), /e/, `1.5e${exponent}`);
  }
});

Deno.test("shellWord: a word bash reads back as it was, also after printing escapes controls (newline, tab, ESC: $'…')", () => {
  const words = [
    "plain",
    "a b",
    "it's",
    "a\nb",
    "tab\there",
    "esc\x1b[31mred",
    "q'\\\n$x",
    "del\x7f",
    "bidi\u202eend",
    "\x1b1",
  ];
  for (const word of words) {
    const quoted = shellWord(word);
    // What a message shows of it (controls escaped) is what a user copies: the same text.
    assert.equal(escapeControls(quoted, { keepNewlines: false }), quoted, JSON.stringify(word));
    const echoed = spawnSync("bash", ["-c", `printf '%s' ${quoted}`], { encoding: "utf8", env: { LANG: "C.UTF-8" } });
    assert.equal(echoed.stdout, word, `${JSON.stringify(word)} as ${quoted}`);
  }
  assert.equal(shellWord("a\nb"), "$'a\\nb'");
  assert.equal(shellWord("it's"), "'it'\\''s'");
});
