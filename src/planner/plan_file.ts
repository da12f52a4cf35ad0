/**
 * Plan files: every generated workflow is kept as
 * `PFLOW_HOME/plans/<name>-<YYYYMMDD-HHMMSS>-<8 hex>.json`, a runnable
 * workflow file (`pflow run PLAN`) that `pflow workflow save` can keep.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { PRIVATE_FILE_MODE, privateDir } from "../util/private_files.ts";
import type { WorkflowIR } from "../workflow/ir.ts";

/** The directory of plan files. */
export function plansDir(home: string): string {
  return join(home, "plans");
}

/** The name a plan goes by: the workflow's own `name` made file-safe, else `plan`. */
export function planName(ir: WorkflowIR): string {
  const name = (ir.name ?? "").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "").slice(0, 48);
  return name || "plan";
}

/**
 * Writes `ir` as a new plan file (atomically, mode 0600: plans can hold
 * what the request said; `redact` hides known secrets) and returns its path.
 * The text written is returned too, so problems found later map to its lines.
 */
export async function writePlanFile(
  home: string,
  ir: WorkflowIR,
  options: { redact?: (text: string) => string } = {},
): Promise<{ path: string; text: string }> {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const id = crypto.getRandomValues(new Uint8Array(4)).reduce((hex, b) => hex + b.toString(16).padStart(2, "0"), "");
  const redact = options.redact ?? ((t: string) => t);
  const dir = plansDir(home);
  await privateDir(dir);
  // Named after the redacted name: a file name is never redacted later.
  const name = planName({ ...ir, name: ir.name === undefined ? undefined : redact(ir.name) });
  const path = join(dir, `${name}-${stamp}-${id}.json`);
  const text = redact(`${JSON.stringify(ir, null, 2)}\n`);
  await writeFileAtomic(path, text, { mode: PRIVATE_FILE_MODE, mkdir: false });
  return { path, text };
}
