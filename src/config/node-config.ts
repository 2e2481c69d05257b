/**
 * The node configuration: what the daemon listens on, which discovery and NAT-traversal mechanisms it
 * runs, and a few limits. config/default.json holds the same defaults as DEFAULT_NODE_CONFIG (a test
 * keeps the two equal) and config/README.md documents every key.
 */
export interface NodeConfig {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs announced to peers instead of the listen addresses (e.g. a port forward); empty = the listen addresses. */
  announce: string[]
  /** Unused since the local API moved to the Unix socket HOME/api.sock; accepted so that existing node.json files load. */
  apiPort: number
  /** Multiaddrs (each ending in /p2p/<peer id>) of nodes to keep connected for DHT routing. */
  bootstrap: string[]
  /** Discover peers on the local network with mDNS (only trusted peers are dialled). */
  mdns: boolean
  /** Run the private Kademlia DHT (/holdfast/kad/1.0.0) to find trusted peers whose address changed. */
  dht: boolean
  relay: {
    /** Relay connections for trusted peers (limits lifted; only trusted peers may reserve). */
    server: boolean
    /** Dial peers through relays, and accept connections relayed to this node (circuit-relay transport). */
    client: boolean
    /**
     * Trusted peers acting as relay (peer ids, or multiaddrs ending in /p2p/<peer id>) on which this node
     * keeps a reservation, so that peers that cannot dial it reach it through them. Needs `client`.
     */
    reserve: string[]
  }
  /** Upgrade relayed connections to direct ones (DCUtR). */
  holePunching: boolean
  /** Ask trusted peers whether our addresses are reachable from outside (AutoNAT). */
  autonat: boolean
  /** Ask the router to forward a port (UPnP / NAT-PMP). */
  upnp: boolean
  /** Lifetime of an invite code, in seconds. */
  inviteExpirySeconds: number
  /** How many shard transfers run in parallel (1-10). */
  transfers: number
  /** Backoff between reconnection attempts to a trusted peer, doubling from minMs up to maxMs. */
  reconnect: {
    minMs: number
    maxMs: number
  }
  /** What a backup does when the stores online cannot spread a pack over the sites as the rules ask. */
  placement: {
    /** 'reduced': store it on k+m distinct peers anyway and mark it for rebalancing; 'wait': wait for peers. */
    onShortfall: 'reduced' | 'wait'
    /** How long 'wait' waits before the backup fails with the reason. */
    waitSeconds: number
  }
  /** The host's background re-hash of what it keeps for others (src/host/scrubber.ts). */
  scrub: {
    enabled: boolean
    /** A whole pass starts this many seconds after the previous one (default a week). */
    periodSeconds: number
    /** Bytes re-hashed per second at most. */
    bytesPerSecond: number
  }
  /** The owner's scheduled audits and repairs (src/daemon/maintenance-scheduler.ts). */
  maintenance: {
    /** Run them at all. */
    enabled: boolean
    /** Every shard is challenged at least once in this many seconds (default a day). */
    auditPeriodSeconds: number
    /** Seconds between two rounds of the scheduler (each round audits the shards due, at random). */
    tickSeconds: number
    /** Segments per challenge. */
    segments: number
    /** Challenges per second at most (the audit's bandwidth budget: about 1.5 KiB each). */
    challengesPerSecond: number
    /** Regenerate lost shards automatically. */
    repair: boolean
    /** Packs repaired per round at most (repair's rate limit). */
    repairPacksPerTick: number
    /** A host offline longer than this has its shards regenerated elsewhere. */
    graceSeconds: number
    /** Repair a pack once fewer good shards than this remain (k .. k+m); 0: automatic (k+m, or k+m-1 from m = 3 on: audit/health.ts autoRepairThreshold). */
    repairThreshold: number
    /** A pack down to k shards on hosts seen within this does not wait out the grace for the others (0: off). */
    urgentGraceSeconds: number
    /**
     * A host away longer than its usual absence (learned: its rhythm) plus this, and at least a quarter more
     * than usual, is overdue: a pack one loss from k does not wait for it (0: off).
     */
    overdueSlackSeconds: number
  }
  /** Backup sessions: what is selected, hooks, notifications, and the backup sets the daemon runs. */
  backup: BackupConfig
  /** Rate limits of the shard transfers with peers (bytes per second, 0 = unlimited), and time-of-day windows. */
  bandwidth: {
    upload: number
    download: number
    /** e.g. "Mon-Fri 09:00-17:00 up=512KiB down=2MiB"; the first window containing the time overrides the limits it sets. */
    windows: string[]
  }
  /**
   * Locks on the stores (prune, forget, repair exclusive; backup shared): one not refreshed for
   * staleSeconds is taken over; a held lock is refreshed every refreshSeconds.
   */
  locks: { staleSeconds: number, refreshSeconds: number }
  /** The dashboard, the REST API and /metrics, served by the daemon over HTTP (src/web/). */
  gui: {
    enabled: boolean
    /** HOST:PORT; 127.0.0.1 only until a GUI password protects it. Port 0: any free port (see daemon.json). */
    listen: string
    /** HTTPS with a self-signed certificate (HOME/gui-cert.pem): "auto" for a listen beyond loopback, true always, false never (and no listen beyond loopback). */
    https: 'auto' | boolean
  }
  /** Directory of the local speed vault (a copy of every pack's data shards, read first by restores); empty: none. */
  vault: string
  /** The retention policy the daemon applies after each scheduled or watch session (no rule: none is applied). */
  retention: {
    last: number
    hourly: number
    daily: number
    weekly: number
    monthly: number
    yearly: number
    tags: string[]
    /** Prune after forgetting. */
    prune: boolean
    /** How long prune keeps a shard no record accounts for before deleting it (quarantine), seconds. */
    orphanGraceSeconds: number
  }
}

/** A named selection of paths the daemon backs up on a schedule and/or when they change. */
export interface BackupSetConfig {
  /** 1-64 characters: letters, digits, '.', '_' and '-'. */
  name: string
  /** Absolute paths (none when the set is a command's output). */
  paths: string[]
  /**
   * A command whose standard output is the set's source instead of paths (a database dump: argv, run
   * without a shell): stored as the file /NAME (the set's name); its exit status decides the session's
   * (a failing dump never becomes a snapshot). Set in node.json only, never through the dashboard.
   */
  command?: string[]
  /**
   * A standby folder (absolute path; absent: none) the daemon keeps equal to the set's latest snapshot:
   * after each session that saved one, and at start when it lags behind (see src/standby/).
   */
  standby?: string
  /** Exclude patterns (gitignore style) added to backup.exclude for this set. */
  exclude: string[]
  /** Cron expression (5 fields, or 6 with seconds first); empty: no schedule. */
  schedule: string
  /** Continuous protection: watch the paths and back up changes once they are minAgeSeconds old. */
  watch: boolean
  /** A changed file is backed up once it has stayed unchanged this long. */
  minAgeSeconds: number
  /** Watch mode's safety net: a full rescan this often. */
  rescanSeconds: number
  /**
   * Healthchecks-style ping URL (http or https; empty: none): the daemon calls URL/start when a session of
   * the set starts, URL when it succeeds (ok or partial) and URL/fail when it fails.
   */
  ping: string
}

export interface BackupConfig {
  /** Exclude patterns (gitignore style) for every session. */
  exclude: string[]
  /** Name of the per-directory ignore file read during the scan; empty: none. */
  ignoreFile: string
  /** Skip directories tagged as caches (CACHEDIR.TAG). */
  excludeCaches: boolean
  /** Patterns of files processed first in a session (in this order), before the rest by most recent change. */
  priority: string[]
  hooks: {
    /** Shell command run before a session (empty: none); its environment describes the session. */
    pre: string
    /** Shell command run after a session, whatever its outcome (empty: none). */
    post: string
    /** A pre-hook that fails (non-zero exit, timeout) aborts the session. */
    abortOnPreFailure: boolean
    timeoutSeconds: number
  }
  notify: {
    /** When a session summary is sent. */
    when: 'never' | 'failure' | 'always'
    /** http(s) URL that receives the summary as JSON (POST); empty: none. */
    webhook: string
    smtp: {
      /** SMTP server; empty: no e-mail. */
      host: string
      port: number
      /** TLS from the start (port 465); otherwise plain, with STARTTLS when the server offers it. */
      secure: boolean
      user: string
      /** File holding the SMTP password (not the password itself). */
      passwordFile: string
      from: string
      to: string[]
    }
  }
  /** File with the repository passphrase, for sessions the daemon runs unattended; empty: $HOLDFAST_PASSPHRASE. */
  passphraseFile: string
  /**
   * A scheduled run that failed for want of reachable stores (peers offline) is retried after this many
   * seconds, then twice that, four times ... up to an hour apart, until the set's next scheduled run; 0: never.
   */
  retryBaseSeconds: number
  sets: BackupSetConfig[]
}

/** The documented default port; the listen default uses it on every IPv4 interface. */
export const DEFAULT_PORT = 4801

export const DEFAULT_NODE_CONFIG: Readonly<NodeConfig> = Object.freeze({
  listen: Object.freeze([`/ip4/0.0.0.0/tcp/${DEFAULT_PORT}`]) as string[],
  announce: Object.freeze([]) as unknown as string[],
  apiPort: 0,
  bootstrap: Object.freeze([]) as unknown as string[],
  mdns: true,
  dht: true,
  relay: Object.freeze({ server: false, client: true, reserve: Object.freeze([]) as unknown as string[] }),
  holePunching: true,
  autonat: true,
  upnp: false,
  inviteExpirySeconds: 86400,
  transfers: 8,
  reconnect: Object.freeze({ minMs: 1000, maxMs: 300000 }),
  placement: Object.freeze({ onShortfall: 'reduced' as const, waitSeconds: 300 }),
  scrub: Object.freeze({ enabled: true, periodSeconds: 604800, bytesPerSecond: 8388608 }),
  maintenance: Object.freeze({ enabled: true, auditPeriodSeconds: 86400, tickSeconds: 60, segments: 1, challengesPerSecond: 20, repair: true, repairPacksPerTick: 8, graceSeconds: 259200, repairThreshold: 0, urgentGraceSeconds: 86400, overdueSlackSeconds: 7200 }),
  backup: Object.freeze({
    exclude: Object.freeze([]) as unknown as string[],
    ignoreFile: '.holdfastignore',
    excludeCaches: false,
    priority: Object.freeze([]) as unknown as string[],
    hooks: Object.freeze({ pre: '', post: '', abortOnPreFailure: true, timeoutSeconds: 300 }),
    notify: Object.freeze({
      when: 'failure' as const,
      webhook: '',
      smtp: Object.freeze({ host: '', port: 587, secure: false, user: '', passwordFile: '', from: '', to: Object.freeze([]) as unknown as string[] })
    }),
    passphraseFile: '',
    retryBaseSeconds: 60,
    sets: Object.freeze([]) as unknown as BackupSetConfig[]
  }),
  bandwidth: Object.freeze({ upload: 0, download: 0, windows: Object.freeze([]) as unknown as string[] }),
  locks: Object.freeze({ staleSeconds: 1800, refreshSeconds: 300 }),
  gui: Object.freeze({ enabled: true, listen: '127.0.0.1:8486', https: 'auto' as const }),
  vault: '',
  retention: Object.freeze({ last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, tags: Object.freeze([]) as unknown as string[], prune: true, orphanGraceSeconds: 604800 })
})

/** The defaults of a backup set's optional fields. */
/** What a set's snapshots hold: its paths, or /NAME when its source is a command's output. */
export function setSnapshotPaths (set: Pick<BackupSetConfig, 'name' | 'paths' | 'command'>): string[] {
  return set.command != null ? [`/${set.name}`] : set.paths
}

export const DEFAULT_BACKUP_SET: Readonly<Omit<BackupSetConfig, 'name' | 'paths'>> = Object.freeze({
  exclude: Object.freeze([]) as unknown as string[],
  schedule: '',
  watch: false,
  minAgeSeconds: 60,
  rescanSeconds: 3600,
  ping: ''
})
