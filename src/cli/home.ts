/**
 * Where pflow keeps state: `PFLOW_HOME` (default `~/.pflow`), its settings
 * file and saved workflows.
 * @module
 */
import { InvalidUtf8Error, readUtf8File, utf8Problem } from "../util/utf8.ts";
import { homedir } from "node:os";
import { join } from "node:path";
import type { LlmSettings } from "../llm/types.ts";
import { ValidationError } from "../workflow/errors.ts";

/** The state directory: `$PFLOW_HOME` or `~/.pflow`. */
export function pflowHome(env: Record<string, string | undefined>): string {
  return env.PFLOW_HOME || join(homedir(), ".pflow");
}

/** Settings read from `PFLOW_HOME/settings.json`. */
export interface Settings extends LlmSettings {
  [key: string]: unknown;
}

/** `PFLOW_HOME/settings.json`. */
export function settingsFile(home: string): string {
  return join(home, "settings.json");
}

/** Reads settings; a missing file is empty settings, a bad one a validation error. */
export async function loadSettings(home: string): Promise<Settings> {
  const path = settingsFile(home);
  let text: string;
  try {
    text = await readUtf8File(path);
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw new ValidationError([utf8Problem(path, error)]);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ValidationError([{ file: path, message: `cannot read settings: ${(error as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ file: path, message: `invalid JSON: ${(error as Error).message}` }]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ValidationError([{ file: path, message: "settings must be a JSON object" }]);
  }
  const settings = data as Settings;
  if (settings.default_model !== undefined && typeof settings.default_model !== "string") {
    throw new ValidationError([{
      file: path,
      pointer: "/default_model",
      message: 'must be a string like "anthropic/claude-sonnet-4-5"',
    }]);
  }
  for (const [name, p] of Object.entries(settings.providers ?? {})) {
    if (typeof p?.base_url !== "string") {
      throw new ValidationError([{
        file: path,
        pointer: `/providers/${name}/base_url`,
        message: "must be a URL string including /v1",
      }]);
    }
  }
  return settings;
}
