import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileErrorReason } from "../src/util/file_errors.ts";

/** The error a real file-system call throws. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("the call did not fail");
}

Deno.test("fileErrorReason: real file-system errors in a few words", () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-file-errors-"));
  try {
    const file = join(dir, "file.txt");
    writeFileSync(file, "x");
    symlinkSync(join(dir, "loop"), join(dir, "loop"));
    const cases: [() => unknown, string][] = [
      [() => readFileSync(join(dir, "missing")), "not found"],
      [() => readFileSync(dir), "it is a directory"],
      [() => readFileSync(join(file, "inside")), "a part of its path is a file"],
      [() => readFileSync(join(dir, "x".repeat(300))), "file name too long"],
      [() => readFileSync(join(dir, "loop")), "too many symbolic links"],
    ];
    for (const [call, reason] of cases) assert.equal(fileErrorReason(thrownBy(call)), reason);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("fileErrorReason: codes tests cannot provoke as root, and anything else by its message's first line", () => {
  const coded = (code: string) => Object.assign(new Error(`${code}: raw text`), { code });
  assert.equal(fileErrorReason(coded("EACCES")), "permission denied");
  assert.equal(fileErrorReason(coded("EPERM")), "permission denied");
  assert.equal(fileErrorReason(coded("EROFS")), "read-only file system");
  assert.equal(fileErrorReason(coded("ENOSPC")), "no space left on the device");
  assert.equal(fileErrorReason(coded("EIO")), "input/output error");
  assert.equal(fileErrorReason(coded("EDQUOT")), "disk quota exceeded");
  assert.equal(fileErrorReason(coded("EXDEV")), "EXDEV: raw text");
  assert.equal(fileErrorReason(new Error("first line\nsecond line")), "first line");
  assert.equal(fileErrorReason("a string"), "a string");
  assert.equal(fileErrorReason(undefined), "undefined");
});
