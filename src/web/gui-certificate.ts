import { X509Certificate, createPrivateKey } from 'node:crypto'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'

export const guiCertPath = (home: string): string => join(home, 'gui-cert.pem')
export const guiKeyPath = (home: string): string => join(home, 'gui-key.pem')

/** The dashboard's TLS certificate and key (PEM), and the certificate's SHA-256 fingerprint as browsers show it (AA:BB:...). */
export interface GuiCertificate {
  cert: string
  key: string
  fingerprint: string
  /** when it runs out (as X509Certificate.validTo says it) */
  validTo: string
}

/** Apple's platforms refuse TLS certificates valid longer than this; a new one is made when it runs out. */
const VALID_DAYS = 825
const RENEW_BEFORE_MS = 7 * 86400_000

/** The SHA-256 fingerprint of a PEM certificate (AA:BB:...). */
export function certificateFingerprint (pem: string): string {
  return new X509Certificate(pem).fingerprint256
}

/** The certificate stored in HOME, or undefined when there is none (or it cannot be read). */
export async function readGuiCertificate (home: string): Promise<GuiCertificate | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(guiCertPath(home), 'utf8'), readFile(guiKeyPath(home), 'utf8')])
    const x509 = new X509Certificate(cert)
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined
    return { cert, key, fingerprint: x509.fingerprint256, validTo: x509.validTo }
  } catch {
    return undefined
  }
}

/**
 * The dashboard's self-signed certificate: the one in HOME/gui-cert.pem and HOME/gui-key.pem (0600) when
 * it is there, valid a while more and matches its key; else a new one (ECDSA P-256, SHA-256, valid 825
 * days) naming this machine, localhost, the loopback addresses and `listenHost`, stored for the next start.
 */
export async function loadGuiCertificate (home: string, listenHost: string, options: { now?: () => number } = {}): Promise<GuiCertificate> {
  const now = options.now ?? Date.now
  const stored = await readGuiCertificate(home)
  if (stored != null && Date.parse(stored.validTo) - RENEW_BEFORE_MS > now()) return stored
  const names = new Set(['localhost', hostname()])
  const ips = new Set(['127.0.0.1', '::1'])
  if (isIP(listenHost) !== 0) { if (listenHost !== '0.0.0.0' && listenHost !== '::') ips.add(listenHost) } else names.add(listenHost)
  const { generate } = await import('selfsigned')
  const notBeforeDate = new Date(now() - 3600_000)
  let made
  try {
    made = await generate([{ name: 'commonName', value: `Holdfast dashboard on ${hostname()}`.slice(0, 64) }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + VALID_DAYS * 86400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [...[...names].filter(n => n !== '').map(value => ({ type: 2 as const, value })), ...[...ips].map(ip => ({ type: 7 as const, ip }))] }
      ]
    })
  } catch (err) {
    throw new ConfigError(`cannot make the dashboard's certificate: ${(err as Error).message}`, { cause: err })
  }
  // the key first: a certificate on disk always has its key beside it
  await writeFileAtomic(guiKeyPath(home), made.private, 0o600)
  await writeFileAtomic(guiCertPath(home), made.cert, 0o600)
  const x509 = new X509Certificate(made.cert)
  return { cert: made.cert, key: made.private, fingerprint: x509.fingerprint256, validTo: x509.validTo }
}
