import type { NodeConfig } from '../config/index.js'

/**
 * The node config's keys the daemon reads only when it starts (the libp2p node, its discovery, the
 * dashboard's listener): a change to them takes effect after a restart. Every other key applies live
 * on a reload (Daemon.reload).
 */
export const RESTART_KEYS = ['listen', 'announce', 'apiPort', 'bootstrap', 'mdns', 'dht', 'relay', 'holePunching', 'autonat', 'upnp', 'reconnect', 'gui'] as const
export type RestartKey = typeof RESTART_KEYS[number]

/** What a reload changes: the top-level keys (backup's parts as `backup.x`) applied now, and those left for a restart. */
export interface ConfigChanges {
  live: string[]
  restart: string[]
}

/** The keys whose values differ between the running configuration and the new one. Pure. */
export function configChanges (running: NodeConfig, next: NodeConfig): ConfigChanges {
  const differs = (a: unknown, b: unknown): boolean => JSON.stringify(a) !== JSON.stringify(b)
  const live: string[] = []
  const restart: string[] = []
  for (const key of Object.keys(next) as Array<keyof NodeConfig>) {
    if ((RESTART_KEYS as readonly string[]).includes(key)) {
      if (differs(running[key], next[key])) restart.push(key)
    } else if (key === 'backup') {
      for (const part of Object.keys(next.backup) as Array<keyof NodeConfig['backup']>) {
        if (differs(running.backup[part], next.backup[part])) live.push(`backup.${part}`)
      }
    } else if (differs(running[key], next[key])) live.push(key)
  }
  return { live, restart }
}

/**
 * The configuration a reload runs with: the new one, but with the keys read only at start kept as the
 * daemon started with them (they are what runs until a restart).
 */
export function reloadedConfig (started: NodeConfig, next: NodeConfig): NodeConfig {
  const out = { ...next } as Record<string, unknown>
  for (const key of RESTART_KEYS) out[key] = started[key]
  return out as unknown as NodeConfig
}
