/**
 * Paths in messages. A path that holds a control character (a newline from a
 * command's output, a tab, an escape) or whitespace at the start or end of a
 * part (`out.txt `) looks like another path when printed as is, or cannot be
 * seen at all: it is shown JSON-quoted instead (`"/w/real.txt\n"`), every
 * such character written as an escape.
 * @module
 */
import { NON_C0_CONTROLS } from "./controls.ts";

/** C0 and {@link NON_C0_CONTROLS}: what a reader cannot see in a name. */
const CONTROL = new RegExp(`[\\x00-\\x1f${NON_C0_CONTROLS}]`);
/** The same, for escaping what JSON.stringify leaves as is. */
const NOT_ESCAPED_BY_JSON = new RegExp(`[${NON_C0_CONTROLS}]`, "g");
/** Whitespace at the start or end of the path or of one of its parts. */
const EDGE_SPACE = /(?:^|[/\\])\s|\s(?:$|[/\\])/;

/** Whether `path` holds a character a reader cannot see, or a part starts or ends with whitespace. */
export function isOddPath(path: string): boolean {
  return CONTROL.test(path) || EDGE_SPACE.test(path);
}

/** `path` as a message shows it: as is, or JSON-quoted when it is odd (see {@link isOddPath}). */
export function shownPath(path: string): string {
  if (!isOddPath(path)) return path;
  return JSON.stringify(path).replace(
    NOT_ESCAPED_BY_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Why a path ends in a newline, and what to do, for a message: a command's
 * stdout ends in one, and `${cmd.stdout}` keeps it.
 */
export const TRAILING_NEWLINE_HINT = "as a command's stdout does, and ${node.stdout} keeps it; print the path " +
  `without one: printf '%s' NAME instead of echo NAME, or printf '%s' "$(cmd)", which drops it`;

/** Whether `path` ends in a newline (`\n` or `\r\n`, or a lone `\r`). */
export function endsInNewline(path: string): boolean {
  return path.endsWith("\n") || path.endsWith("\r");
}
