/**
 * The built-in node types.
 * @module
 */
import type { NodeClass } from "./spec.ts";
import { EchoNode } from "./echo.ts";
import { ShellNode } from "./shell.ts";
import { CopyFileNode, DeleteFileNode, MoveFileNode, ReadFileNode, WriteFileNode } from "./file.ts";
import { HttpNode } from "./http.ts";
import { LlmNode } from "./llm.ts";

export * from "./spec.ts";
export {
  CopyFileNode,
  DeleteFileNode,
  EchoNode,
  HttpNode,
  LlmNode,
  MoveFileNode,
  ReadFileNode,
  ShellNode,
  WriteFileNode,
};

/** Every built-in node class. */
export const BUILTIN_NODES: readonly NodeClass[] = [
  ShellNode,
  ReadFileNode,
  WriteFileNode,
  CopyFileNode,
  MoveFileNode,
  DeleteFileNode,
  HttpNode,
  LlmNode,
  EchoNode,
];
