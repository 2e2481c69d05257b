import { existsSync } from 'node:fs'

/**
 * The system's Chromium (Playwright's own download cannot be reached from here). The same lookup as
 * dashboard.test.ts's chromiumPath, in a file of its own so that a test can import it without running
 * that suite.
 */
export function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium), or set HOLDFAST_CHROMIUM')
  return found
}
