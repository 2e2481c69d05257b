import type { NodeConfig } from '../config/index.js'
import { updateNodeConfig } from '../config/write-node-config.js'
import type { RateLimits } from '../bandwidth/index.js'
import { sendTestNotification } from '../session/test-notification.js'
import type { SettingsView } from '../web/settings-routes.js'
import type { NotificationTest, Settings, SettingsPatch, SettingsUpdate } from '../web/settings-schemas.js'
import type { ReloadResult } from './daemon.js'
import { applySettingsPatch } from './settings-patch.js'

export interface DaemonSettingsInit {
  home: string
  /** The configuration the daemon runs with now. */
  config: () => NodeConfig
  /** The bandwidth limits applied now. */
  limits: () => RateLimits
  /** node.json's keys changed since the start that take effect after a restart. */
  afterRestart: () => string[]
  reload: () => Promise<ReloadResult>
  /** This node's name, in the test notification. */
  node: string
  /** Trust this CA for SMTP (tests); NODE_EXTRA_CA_CERTS does it too. */
  smtpCa?: string | Buffer
}

/** The dashboard's settings: read from the running configuration, changed through node.json and a reload. */
export class DaemonSettings implements SettingsView {
  constructor (private readonly init: DaemonSettingsInit) {}

  async get (): Promise<Settings> {
    return settingsOf(this.init.config(), this.init.limits(), this.init.afterRestart())
  }

  async update (patch: SettingsPatch): Promise<SettingsUpdate> {
    await updateNodeConfig(this.init.home, raw => applySettingsPatch(raw, patch))
    const result = await this.init.reload()
    return { settings: await this.get(), appliedNow: result.applied, afterRestart: result.afterRestart }
  }

  async testNotification (signal: AbortSignal): Promise<NotificationTest> {
    try {
      const sent = await sendTestNotification(this.init.config().backup.notify, { node: this.init.node, signal, ca: this.init.smtpCa })
      return { ok: true, message: `sent by ${sent.join(' and ')}` }
    } catch (err) {
      return { ok: false, message: (err as Error).message }
    }
  }
}

/** The editable sections of a configuration, as GET /settings shows them (no secret: the webhook's path, which may hold a token, is left out). Pure. */
export function settingsOf (config: NodeConfig, active: RateLimits, afterRestart: string[]): Settings {
  const { notify } = config.backup
  const { smtp } = notify
  return {
    retention: { ...config.retention, tags: [...config.retention.tags] },
    bandwidth: { upload: config.bandwidth.upload, download: config.bandwidth.download, windows: [...config.bandwidth.windows], active: { upload: active.upload, download: active.download } },
    notifications: {
      when: notify.when,
      webhook: { set: notify.webhook !== '', origin: notify.webhook !== '' ? originOf(notify.webhook) : null },
      smtp: { host: smtp.host, port: smtp.port, secure: smtp.secure, user: smtp.user, passwordFile: smtp.passwordFile, passwordSet: smtp.passwordFile !== '', from: smtp.from, to: [...smtp.to] }
    },
    vault: config.vault,
    maintenance: { ...config.maintenance },
    afterRestart: [...afterRestart]
  }
}

function originOf (url: string): string | null {
  try { return new URL(url).origin } catch { return null }
}
