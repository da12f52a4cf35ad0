/**
 * The characters a terminal may act on, or a reader cannot see, besides the
 * C0 controls: what every message and display escapes.
 * @module
 */

/**
 * DEL, C1, bidirectional overrides, and U+2028/U+2029 (which end a line in
 * some terminals and editors), as the body of a regular expression's
 * character class.
 */
export const NON_C0_CONTROLS = "\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069";
