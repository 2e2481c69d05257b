import { ConfigError } from '../errors.js'
import { loadGuiCertificate } from './gui-certificate.js'
import { GuiPasswordFile } from './gui-password-file.js'
import { isLoopback, parseListen } from './web-server.js'

/** What guards the daemon's web face: its password file, and its TLS certificate when it serves HTTPS. */
export interface GuiSecurity {
  password: GuiPasswordFile
  tls?: { cert: string, key: string }
}

/**
 * The web face's guards by the node config's `gui`: the GUI password (HOME/gui.json, read again when it
 * changes) and, when `https` is true or "auto" with a listen beyond loopback, the self-signed certificate
 * (made on first use, kept in HOME). `https: false` with such a listen is refused here.
 */
export async function guiSecurity (home: string, gui: { listen: string, https: 'auto' | boolean }): Promise<GuiSecurity> {
  const { host } = parseListen(gui.listen)
  const local = isLoopback(host)
  if (gui.https === false && !local) throw new ConfigError(`gui.https is false, and the dashboard listens beyond this machine (${gui.listen}) only over HTTPS: set gui.https to "auto", or keep gui.listen on 127.0.0.1`)
  const password = new GuiPasswordFile(home)
  // no certificate is made for a listen the web server refuses (no password)
  const refused = !local && await password.current() == null
  if (!refused && (gui.https === true || (gui.https === 'auto' && !local))) {
    const { cert, key } = await loadGuiCertificate(home, host)
    return { password, tls: { cert, key } }
  }
  return { password }
}
