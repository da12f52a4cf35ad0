/**
 * Tests of the file nodes: real files in temp dirs.
 * @module
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import type { BaseNode, Shared } from "../src/engine/mod.ts";
import { NodeError } from "../src/nodes/spec.ts";
import { CopyFileNode, DeleteFileNode, MoveFileNode, ReadFileNode, WriteFileNode } from "../src/nodes/file.ts";

async function runNode(
  node: BaseNode,
  params: Record<string, unknown>,
): Promise<{ action: string | undefined; shared: Shared }> {
  node.params = params;
  const shared: Shared = {};
  const action = await node.run(shared, { warn: () => {} });
  return { action, shared };
}

/** Runs the body with a fresh temp dir, removed afterwards. */
function withDir(
  name: string,
  fn: (dir: string) => Promise<void>,
): void {
  Deno.test(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), "pflow-file-test-"));
    try {
      await fn(dir);
    } finally {
      await chmod(dir, 0o755).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** Asserts a NodeError whose message matches `pattern`. */
function nodeError(pattern: RegExp | string) {
  return (e: Error) => {
    assert.ok(e instanceof NodeError, `expected NodeError, got ${e.name}: ${e.message}`);
    if (typeof pattern === "string") assert.equal(e.message, pattern);
    else assert.match(e.message, pattern);
    return true;
  };
}

/** Root ignores file modes: permission tests need an unprivileged user. */
const isRoot = process.getuid?.() === 0;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- read-file

withDir("read-file: reads UTF-8 text", async (dir) => {
  const path = join(dir, "a.txt");
  await writeFile(path, "héllo\nwörld ✓");
  const { action, shared } = await runNode(new ReadFileNode(), { path });
  assert.equal(action, "default");
  assert.deepEqual(shared, { content: "héllo\nwörld ✓" });
});

withDir("read-file: relative paths resolve against the process cwd", async (dir) => {
  const path = join(dir, "rel.txt");
  await writeFile(path, "relative");
  const rel = relative(process.cwd(), path);
  assert.ok(!rel.startsWith("/"));
  const { shared } = await runNode(new ReadFileNode(), { path: rel });
  assert.equal(shared.content, "relative");
});

withDir("read-file: base64 returns the exact bytes", async (dir) => {
  const path = join(dir, "bin");
  const bytes = new Uint8Array([0, 255, 1, 128, 10, 13, 0xc3]);
  await writeFile(path, bytes);
  const { shared } = await runNode(new ReadFileNode(), { path, encoding: "base64" });
  assert.equal(shared.content, "AP8BgAoNww==");
});

withDir("read-file: an empty file gives an empty string", async (dir) => {
  const path = join(dir, "empty");
  await writeFile(path, "");
  const { shared } = await runNode(new ReadFileNode(), { path });
  assert.equal(shared.content, "");
});

withDir("read-file: missing file names the absolute path", async (dir) => {
  const path = join(dir, "missing.txt");
  await assert.rejects(
    runNode(new ReadFileNode(), { path }),
    nodeError(`file not found: ${path}`),
  );
});

withDir("read-file: a directory is refused", async (dir) => {
  await assert.rejects(
    runNode(new ReadFileNode(), { path: dir }),
    nodeError(`is a directory: ${dir} (read-file reads files)`),
  );
});

withDir("read-file: a path under a file is an error naming the path", async (dir) => {
  const file = join(dir, "file");
  await writeFile(file, "x");
  const path = join(file, "child.txt");
  await assert.rejects(
    runNode(new ReadFileNode(), { path }),
    nodeError(new RegExp(`^not a directory: a parent of ${path} is a file$`)),
  );
});

withDir("read-file: permission denied", async (dir) => {
  const path = join(dir, "secret.txt");
  await writeFile(path, "secret");
  await chmod(path, 0o000);
  // As root, mode 000 does not stop reads: only the unprivileged case is checked.
  if (isRoot) return;
  await assert.rejects(
    runNode(new ReadFileNode(), { path }),
    nodeError(`permission denied: ${path}`),
  );
});

Deno.test("read-file: bad params are NodeErrors", async () => {
  await assert.rejects(runNode(new ReadFileNode(), {}), nodeError(/'path' is required/));
  await assert.rejects(
    runNode(new ReadFileNode(), { path: "/x", encoding: "latin1" }),
    nodeError(/'encoding' must be one of "utf8", "base64"/),
  );
});

// --------------------------------------------------------------- write-file

withDir("write-file: writes a string, reports absolute path and bytes", async (dir) => {
  const path = join(dir, "out.txt");
  const { action, shared } = await runNode(new WriteFileNode(), {
    path,
    content: "héllo",
  });
  assert.equal(action, "default");
  assert.deepEqual(shared, { written_path: path, bytes_written: 6 });
  assert.equal(await readFile(path, "utf8"), "héllo");
});

withDir("write-file: non-string content is written as pretty JSON", async (dir) => {
  const path = join(dir, "data.json");
  const value = { a: 1, list: [1, "two", null] };
  await runNode(new WriteFileNode(), { path, content: value });
  const text = await readFile(path, "utf8");
  assert.equal(text, `${JSON.stringify(value, null, 2)}\n`);
  assert.deepEqual(JSON.parse(text), value);
});

withDir("write-file: relative path is reported absolute", async (dir) => {
  const path = join(dir, "rel.txt");
  const rel = relative(process.cwd(), path);
  const { shared } = await runNode(new WriteFileNode(), { path: rel, content: "x" });
  assert.equal(shared.written_path, path);
  assert.equal(await readFile(path, "utf8"), "x");
});

withDir("write-file: creates parent directories", async (dir) => {
  const path = join(dir, "a", "b", "c", "deep.txt");
  await runNode(new WriteFileNode(), { path, content: "deep" });
  assert.equal(await readFile(path, "utf8"), "deep");
});

withDir("write-file: replaces atomically and leaves no temp files", async (dir) => {
  const path = join(dir, "target.txt");
  await writeFile(path, "old content that is longer");
  await chmod(path, 0o640);
  await runNode(new WriteFileNode(), { path, content: "new" });
  assert.equal(await readFile(path, "utf8"), "new");
  assert.deepEqual(await readdir(dir), ["target.txt"]);
  assert.equal((await stat(path)).mode & 0o777, 0o640, "mode kept");
});

withDir("write-file: append adds to the end", async (dir) => {
  const path = join(dir, "log.txt");
  await runNode(new WriteFileNode(), { path, content: "one\n", append: true });
  const { shared } = await runNode(new WriteFileNode(), {
    path,
    content: "two\n",
    append: true,
  });
  assert.equal(shared.bytes_written, 4);
  assert.equal(await readFile(path, "utf8"), "one\ntwo\n");
  assert.deepEqual(await readdir(dir), ["log.txt"]);
});

withDir("write-file: without append the file is replaced", async (dir) => {
  const path = join(dir, "f.txt");
  await writeFile(path, "first");
  await runNode(new WriteFileNode(), { path, content: "second" });
  assert.equal(await readFile(path, "utf8"), "second");
});

withDir("write-file: base64 round trip with read-file", async (dir) => {
  const path = join(dir, "bin");
  const bytes = new Uint8Array(256).map((_, i) => i);
  const b64 = btoa(String.fromCharCode(...bytes));
  const { shared } = await runNode(new WriteFileNode(), {
    path,
    content: b64,
    encoding: "base64",
  });
  assert.equal(shared.bytes_written, 256);
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
  const read = await runNode(new ReadFileNode(), { path, encoding: "base64" });
  assert.equal(read.shared.content, b64);
});

withDir("write-file: invalid base64 is refused and nothing is written", async (dir) => {
  const path = join(dir, "bin");
  await assert.rejects(
    runNode(new WriteFileNode(), { path, content: "not base64!", encoding: "base64" }),
    nodeError(/content is not valid base64/),
  );
  await assert.rejects(
    runNode(new WriteFileNode(), { path, content: { a: 1 }, encoding: "base64" }),
    nodeError(/must be a base64 string/),
  );
  assert.deepEqual(await readdir(dir), []);
});

withDir("write-file: a directory target is refused", async (dir) => {
  await assert.rejects(
    runNode(new WriteFileNode(), { path: dir, content: "x" }),
    nodeError(new RegExp(`^is a directory: ${dir} \\(write-file writes files`)),
  );
  await assert.rejects(
    runNode(new WriteFileNode(), { path: dir, content: "x", append: true }),
    nodeError(/^is a directory/),
  );
});

withDir("write-file: a parent that is a file is a clear error", async (dir) => {
  const file = join(dir, "file");
  await writeFile(file, "x");
  await assert.rejects(
    runNode(new WriteFileNode(), { path: join(file, "sub", "f.txt"), content: "x" }),
    nodeError(/a parent of .* is a file|cannot create directory .*: a part of it is a file/),
  );
  assert.equal(await readFile(file, "utf8"), "x");
});

withDir("write-file: an unwritable directory is permission denied", async (dir) => {
  const locked = join(dir, "locked");
  await mkdir(locked);
  await chmod(locked, 0o500);
  // Root can write into a 0500 directory; only the unprivileged case is checked.
  if (isRoot) return;
  await assert.rejects(
    runNode(new WriteFileNode(), { path: join(locked, "f.txt"), content: "x" }),
    nodeError(/^permission denied: /),
  );
});

/**
 * Makes `dir` refuse new files while its files stay writable: mode 0555, or, as root (whom modes do not stop),
 * the immutable attribute (`chattr +i`, which must work: a failure fails the test). Returns the undo.
 */
async function lockFolder(dir: string): Promise<() => Promise<void>> {
  if (!isRoot) {
    await chmod(dir, 0o555);
    return () => chmod(dir, 0o755);
  }
  const set = await new Deno.Command("chattr", { args: ["+i", dir] }).output();
  assert.equal(set.code, 0, `chattr +i failed: ${new TextDecoder().decode(set.stderr)}`);
  return async () => void await new Deno.Command("chattr", { args: ["-i", dir] }).output();
}

withDir(
  "write-file and copy-file: a folder that takes no new file says the write goes through a temp file there",
  async (dir) => {
    const locked = join(dir, "locked");
    await mkdir(locked);
    const path = join(locked, "f.txt");
    await writeFile(path, "old");
    await chmod(path, 0o666);
    const source = join(dir, "s.txt");
    await writeFile(source, "new");
    const unlock = await lockFolder(locked);
    try {
      await assert.rejects(
        runNode(new WriteFileNode(), { path, content: "x" }),
        nodeError(
          `permission denied: ${locked} (write-file writes ${path} atomically, through a temp file in its folder, ` +
            "and that folder does not let pflow create files)",
        ),
      );
      await assert.rejects(
        runNode(new CopyFileNode(), { source, destination: path, overwrite: true }),
        nodeError(
          /^permission denied: .*locked \(copy-file writes .*f\.txt atomically, through a temp file in its folder/,
        ),
      );
      assert.equal(await readFile(path, "utf8"), "old");
    } finally {
      await unlock();
    }
  },
);

withDir("write-file: writes through a symlink instead of replacing it", async (dir) => {
  const real = join(dir, "real.txt");
  const link = join(dir, "link.txt");
  await writeFile(real, "old");
  await symlink(real, link);
  await runNode(new WriteFileNode(), { path: link, content: "new" });
  assert.equal(await readFile(real, "utf8"), "new");
  assert.ok((await Deno.lstat(link)).isSymlink);
});

// ---------------------------------------------------------------- copy-file

withDir("copy-file: copies and creates parent dirs", async (dir) => {
  const source = join(dir, "src.txt");
  const destination = join(dir, "x", "y", "dst.txt");
  await writeFile(source, "payload");
  const { action, shared } = await runNode(new CopyFileNode(), { source, destination });
  assert.equal(action, "default");
  assert.deepEqual(shared, { copied_path: destination });
  assert.equal(await readFile(destination, "utf8"), "payload");
  assert.equal(await readFile(source, "utf8"), "payload");
});

withDir("copy-file: existing destination needs overwrite", async (dir) => {
  const source = join(dir, "src.txt");
  const destination = join(dir, "dst.txt");
  await writeFile(source, "new");
  await writeFile(destination, "old");
  await assert.rejects(
    runNode(new CopyFileNode(), { source, destination }),
    nodeError(`destination exists: ${destination} (set overwrite: true to replace it)`),
  );
  assert.equal(await readFile(destination, "utf8"), "old");
  await runNode(new CopyFileNode(), { source, destination, overwrite: true });
  assert.equal(await readFile(destination, "utf8"), "new");
});

withDir("copy-file: missing source", async (dir) => {
  const source = join(dir, "nope");
  await assert.rejects(
    runNode(new CopyFileNode(), { source, destination: join(dir, "d") }),
    nodeError(`file not found: ${source}`),
  );
  assert.deepEqual(await readdir(dir), []);
});

withDir("copy-file: a directory source or destination is refused", async (dir) => {
  const sub = join(dir, "sub");
  await mkdir(sub);
  const file = join(dir, "f.txt");
  await writeFile(file, "x");
  await assert.rejects(
    runNode(new CopyFileNode(), { source: sub, destination: join(dir, "d") }),
    nodeError(`is a directory: ${sub} (copy-file copies files)`),
  );
  await assert.rejects(
    runNode(new CopyFileNode(), { source: file, destination: sub, overwrite: true }),
    nodeError(/^is a directory: .*sub \(give the destination's full file path\)$/),
  );
  assert.deepEqual(await readdir(sub), []);
});

withDir("copy-file: copying a file onto itself is refused, content intact", async (dir) => {
  const file = join(dir, "f.txt");
  await writeFile(file, "keep me");
  await assert.rejects(
    runNode(new CopyFileNode(), { source: file, destination: file, overwrite: true }),
    nodeError(/same file/),
  );
  assert.equal(await readFile(file, "utf8"), "keep me");
});

withDir("copy-file: unreadable source is permission denied", async (dir) => {
  const source = join(dir, "secret");
  await writeFile(source, "x");
  await chmod(source, 0o000);
  // As root, mode 000 does not stop reads: only the unprivileged case is checked.
  if (isRoot) return;
  await assert.rejects(
    runNode(new CopyFileNode(), { source, destination: join(dir, "d") }),
    nodeError(`permission denied: ${source}`),
  );
});

/**
 * Runs the body with `small`, a 1 MiB tmpfs mounted for it (unmounted
 * afterwards), and `dir` a temp dir on the usual file system. Mounting needs
 * root (as in CI, which runs as root): unprivileged, the test fails saying
 * so rather than being skipped; a mount that fails fails the test.
 */
function withSmallFs(name: string, fn: (small: string, dir: string) => Promise<void>): void {
  Deno.test(name, async () => {
    assert.ok(isRoot, "this test mounts a 1 MiB tmpfs to fill a disk: run the tests as root (CI does)");
    const small = await mkdtemp(join(tmpdir(), "pflow-small-fs-"));
    const dir = await mkdtemp(join(tmpdir(), "pflow-file-test-"));
    const mount = new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=1M", "tmpfs", small] });
    const mounted = await mount.output();
    assert.equal(mounted.code, 0, `mount of a tmpfs failed: ${new TextDecoder().decode(mounted.stderr)}`);
    try {
      await fn(small, dir);
    } finally {
      await new Deno.Command("umount", { args: [small] }).output();
      await rm(small, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
}

withSmallFs(
  "copy-file: a full disk leaves the old destination whole and no partial file; the error names it",
  async (small, dir) => {
    const source = join(dir, "big.bin");
    await writeFile(source, new Uint8Array(2 * 1024 * 1024).fill(7));
    const destination = join(small, "dst.bin");
    await writeFile(destination, "old");
    await assert.rejects(
      runNode(new CopyFileNode(), { source, destination, overwrite: true }),
      nodeError(`no space left on device: ${destination}`),
    );
    assert.equal(await readFile(destination, "utf8"), "old");
    assert.deepEqual(await readdir(small), ["dst.bin"]);
    const fresh = join(small, "new.bin");
    await assert.rejects(
      runNode(new CopyFileNode(), { source, destination: fresh }),
      nodeError(`no space left on device: ${fresh}`),
    );
    assert.deepEqual(await readdir(small), ["dst.bin"]);
  },
);

withSmallFs(
  "move-file across file systems: a full disk keeps source and old destination, and no partial file",
  async (small, dir) => {
    const source = join(dir, "big.bin");
    await writeFile(source, new Uint8Array(2 * 1024 * 1024).fill(7));
    const destination = join(small, "dst.bin");
    await writeFile(destination, "old");
    await assert.rejects(
      runNode(new MoveFileNode(), { source, destination, overwrite: true }),
      nodeError(`no space left on device: ${destination}`),
    );
    assert.equal(await readFile(destination, "utf8"), "old");
    assert.deepEqual(await readdir(small), ["dst.bin"]);
    assert.equal((await stat(source)).size, 2 * 1024 * 1024);
    // A copy that fits still works, and overwrite: false still refuses an existing destination.
    await writeFile(source, "fits");
    await assert.rejects(runNode(new MoveFileNode(), { source, destination }), nodeError(/^destination exists/));
    await runNode(new MoveFileNode(), { source, destination, overwrite: true });
    assert.equal(await readFile(destination, "utf8"), "fits");
    assert.deepEqual(await readdir(small), ["dst.bin"]);
  },
);

withDir(
  "copy-file: onto a symlink with overwrite writes its target (as cp does), with the source's mode",
  async (dir) => {
    const source = join(dir, "s.txt");
    const target = join(dir, "t.txt");
    const link = join(dir, "l");
    await writeFile(source, "new");
    await chmod(source, 0o640);
    await writeFile(target, "old");
    await symlink("t.txt", link);
    await runNode(new CopyFileNode(), { source, destination: link, overwrite: true });
    assert.equal(await readlink(link), "t.txt");
    assert.equal(await readFile(target, "utf8"), "new");
    assert.equal((await stat(target)).mode & 0o777, 0o640);
    assert.deepEqual((await readdir(dir)).sort(), ["l", "s.txt", "t.txt"]);
  },
);

Deno.test("copy-file: required params", async () => {
  await assert.rejects(
    runNode(new CopyFileNode(), { source: "/a" }),
    nodeError(/'destination' is required/),
  );
});

// ---------------------------------------------------------------- move-file

withDir("move-file: moves across directories", async (dir) => {
  const source = join(dir, "a", "src.txt");
  const destination = join(dir, "b", "c", "dst.txt");
  await mkdir(join(dir, "a"));
  await writeFile(source, "moving");
  const { action, shared } = await runNode(new MoveFileNode(), { source, destination });
  assert.equal(action, "default");
  assert.deepEqual(shared, { moved_path: destination });
  assert.equal(await readFile(destination, "utf8"), "moving");
  assert.equal(await exists(source), false);
});

withDir("move-file: existing destination needs overwrite", async (dir) => {
  const source = join(dir, "src.txt");
  const destination = join(dir, "dst.txt");
  await writeFile(source, "new");
  await writeFile(destination, "old");
  await assert.rejects(
    runNode(new MoveFileNode(), { source, destination }),
    nodeError(`destination exists: ${destination} (set overwrite: true to replace it)`),
  );
  assert.equal(await readFile(source, "utf8"), "new");
  assert.equal(await readFile(destination, "utf8"), "old");
  await runNode(new MoveFileNode(), { source, destination, overwrite: true });
  assert.equal(await readFile(destination, "utf8"), "new");
  assert.equal(await exists(source), false);
});

withDir("move-file and copy-file: a dangling symlink at the destination exists, so it needs overwrite", async (dir) => {
  const source = join(dir, "s.txt");
  const destination = join(dir, "dl");
  await writeFile(source, "new");
  await symlink("missing.txt", destination);
  for (const node of [new MoveFileNode(), new CopyFileNode()]) {
    await assert.rejects(
      runNode(node, { source, destination }),
      nodeError(`destination exists: ${destination} (set overwrite: true to replace it)`),
    );
    assert.equal(await readlink(destination), "missing.txt", `${node.constructor.name}: the link is left alone`);
    assert.equal(await readFile(source, "utf8"), "new");
  }
  await runNode(new MoveFileNode(), { source, destination, overwrite: true });
  assert.equal(await readFile(destination, "utf8"), "new");
  assert.equal(await exists(source), false);
});

withDir("write-file: null content is written as JSON null, absent content as an empty file", async (dir) => {
  const path = join(dir, "n.json");
  await runNode(new WriteFileNode(), { path, content: null });
  assert.equal(await readFile(path, "utf8"), "null\n");
  await runNode(new WriteFileNode(), { path });
  assert.equal(await readFile(path, "utf8"), "");
});

withDir("move-file: missing source and directory source", async (dir) => {
  const source = join(dir, "nope");
  await assert.rejects(
    runNode(new MoveFileNode(), { source, destination: join(dir, "d") }),
    nodeError(`file not found: ${source}`),
  );
  await assert.rejects(
    runNode(new MoveFileNode(), { source: dir, destination: join(tmpdir(), "x") }),
    nodeError(`is a directory: ${dir} (move-file moves files)`),
  );
});

withDir("move-file: works across file systems (EXDEV)", async (dir) => {
  // /dev/shm is usually a tmpfs, a different device from the temp dir.
  const other = await mkdtemp("/dev/shm/pflow-file-test-").catch(() => undefined);
  if (other === undefined) return; // no second file system here
  try {
    if ((await stat(other)).dev === (await stat(dir)).dev) return; // same device
    const source = join(dir, "src.bin");
    const destination = join(other, "sub", "dst.bin");
    await writeFile(source, new Uint8Array([1, 2, 3]));
    await chmod(source, 0o600);
    const { shared } = await runNode(new MoveFileNode(), { source, destination });
    assert.equal(shared.moved_path, destination);
    assert.deepEqual(new Uint8Array(await readFile(destination)), new Uint8Array([1, 2, 3]));
    assert.equal((await stat(destination)).mode & 0o777, 0o600);
    assert.equal(await exists(source), false);
    // And back, onto an existing file, without overwrite: refused.
    await writeFile(source, "blocker");
    await assert.rejects(
      runNode(new MoveFileNode(), { source: destination, destination: source }),
      nodeError(/^destination exists/),
    );
    assert.equal(await exists(destination), true);
  } finally {
    await rm(other, { recursive: true, force: true });
  }
});

// -------------------------------------------------------------- delete-file

withDir("delete-file: deletes a file", async (dir) => {
  const path = join(dir, "f.txt");
  await writeFile(path, "x");
  const { action, shared } = await runNode(new DeleteFileNode(), { path });
  assert.equal(action, "default");
  assert.deepEqual(shared, { deleted: true });
  assert.equal(await exists(path), false);
});

withDir("delete-file: missing file is an error unless missing_ok", async (dir) => {
  const path = join(dir, "nope");
  await assert.rejects(
    runNode(new DeleteFileNode(), { path }),
    nodeError(`file not found: ${path} (set missing_ok: true to allow a missing file)`),
  );
  const { action, shared } = await runNode(new DeleteFileNode(), {
    path,
    missing_ok: true,
  });
  assert.equal(action, "default");
  assert.deepEqual(shared, { deleted: false });
});

withDir("delete-file: refuses directories, even empty ones", async (dir) => {
  const sub = join(dir, "sub");
  await mkdir(sub);
  await assert.rejects(
    runNode(new DeleteFileNode(), { path: sub }),
    nodeError(`is a directory: ${sub} (delete-file deletes files only)`),
  );
  await assert.rejects(
    runNode(new DeleteFileNode(), { path: sub, missing_ok: true }),
    nodeError(/^is a directory/),
  );
  assert.equal((await stat(sub)).isDirectory(), true);
});

withDir("delete-file: a symlink is removed, not its target", async (dir) => {
  const target = join(dir, "target");
  const link = join(dir, "link");
  await mkdir(target);
  await symlink(target, link);
  const { shared } = await runNode(new DeleteFileNode(), { path: link });
  assert.equal(shared.deleted, true);
  assert.equal(await exists(link), false);
  assert.equal((await stat(target)).isDirectory(), true);
});

withDir("delete-file: a path under a file", async (dir) => {
  const file = join(dir, "file");
  await writeFile(file, "x");
  const path = join(file, "child");
  await assert.rejects(
    runNode(new DeleteFileNode(), { path }),
    nodeError(/^not a directory: a parent of .*child is a file$/),
  );
  const { shared } = await runNode(new DeleteFileNode(), { path, missing_ok: true });
  assert.equal(shared.deleted, false);
});

withDir("delete-file: a file in a read-only directory is permission denied", async (dir) => {
  const locked = join(dir, "locked");
  await mkdir(locked);
  const path = join(locked, "f.txt");
  await writeFile(path, "x");
  await chmod(locked, 0o500);
  try {
    // Root can delete from a 0500 directory; only the unprivileged case is checked.
    if (isRoot) return;
    await assert.rejects(
      runNode(new DeleteFileNode(), { path }),
      nodeError(`permission denied: ${path}`),
    );
    assert.equal(await exists(path), true);
  } finally {
    await chmod(locked, 0o755); // so the temp dir can be removed
  }
});

Deno.test("file nodes: spec outputs and actions", () => {
  assert.deepEqual(Object.keys(ReadFileNode.spec.outputs), ["content"]);
  assert.deepEqual(Object.keys(WriteFileNode.spec.outputs), ["written_path", "bytes_written"]);
  assert.deepEqual(Object.keys(CopyFileNode.spec.outputs), ["copied_path"]);
  assert.deepEqual(Object.keys(MoveFileNode.spec.outputs), ["moved_path"]);
  assert.deepEqual(Object.keys(DeleteFileNode.spec.outputs), ["deleted"]);
  const types = [ReadFileNode, WriteFileNode, CopyFileNode, MoveFileNode, DeleteFileNode]
    .map((c) => c.spec.type);
  assert.deepEqual(types, ["read-file", "write-file", "copy-file", "move-file", "delete-file"]);
});

withDir(
  "every file node: a path ending in '/' names a directory; nothing is read, written, copied, moved or deleted",
  async (dir) => {
    const source = join(dir, "src.txt");
    await writeFile(source, "x");
    const cases: [BaseNode, Record<string, unknown>, RegExp][] = [
      [new ReadFileNode(), { path: `${source}/` }, /^path ends with '\/', so it names a directory: .*src\.txt\/ /],
      [new DeleteFileNode(), { path: `${source}/` }, /^path ends with '\/', so it names a directory/],
      [new DeleteFileNode(), { path: `${source}/`, missing_ok: true }, /^path ends with '\/', so it names a directory/],
      [
        new CopyFileNode(),
        { source: `${source}/`, destination: join(dir, "c") },
        /^source ends with '\/', so it names/,
      ],
      [
        new MoveFileNode(),
        { source: `${source}/`, destination: join(dir, "m") },
        /^source ends with '\/', so it names/,
      ],
      [
        new WriteFileNode(),
        { path: `${join(dir, "out")}/`, content: "x" },
        /path ends with '\/', so it names a directory/,
      ],
      [new CopyFileNode(), { source, destination: `${join(dir, "copy")}/` }, /destination ends with '\/', so it names/],
      [
        new MoveFileNode(),
        { source, destination: `${join(dir, "moved")}/` },
        /destination ends with '\/', so it names/,
      ],
    ];
    for (const [node, params, message] of cases) {
      await assert.rejects(
        runNode(node, params),
        (error: Error) => error instanceof NodeError && message.test(error.message),
      );
    }
    assert.deepEqual((await readdir(dir)).sort(), ["src.txt"]);
    assert.equal(await readFile(source, "utf8"), "x");
  },
);
