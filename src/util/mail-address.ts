/**
 * Checks for what goes into an e-mail's headers and envelope. A value with CR or LF could end a header
 * line and start another (a Bcc:, a second message); an address list where one address is expected could
 * add recipients. Both are refused rather than cleaned, so that a bad node config is named, not guessed at.
 */

/** One bare address (`local@domain`): no display name, no list, no spaces or control characters. */
const ADDRESS = /^[^\s<>()[\]\\,;:"@\p{Cc}]{1,64}@[^\s<>()[\]\\,;:"@\p{Cc}]{1,253}$/u

/** Returns `value` when it is one bare e-mail address; otherwise throws `fail(reason)`. */
export function checkMailAddress (value: string, fail: (reason: string) => Error): string {
  if (/[\r\n]/.test(value)) throw fail(`${JSON.stringify(value)} contains a line break`)
  if (!ADDRESS.test(value) || value.length > 254) throw fail(`${JSON.stringify(value)} is not one e-mail address (local@domain)`)
  return value
}

/** Returns `value` when it holds no CR, LF or other control character; otherwise throws `fail(reason)`. */
export function checkHeaderText (value: string, fail: (reason: string) => Error): string {
  if (/[\r\n]/.test(value)) throw fail(`${JSON.stringify(value.slice(0, 80))} contains a line break`)
  if (/\p{Cc}/u.test(value)) throw fail(`${JSON.stringify(value.slice(0, 80))} contains a control character`)
  return value
}

/** `value` with every run of control characters (line breaks included) made one space: for text built from paths. */
export function headerSafe (value: string): string {
  return value.replace(/\p{Cc}+/gu, ' ')
}
