import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'

/** Measuring helpers of the benchmark scripts: commands timed under /usr/bin/time, settling the disk, sizes, a process's memory. */
export interface Measure { wall: number, rssMiB: number, code: number, out: string }

export async function timed (cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Measure> {
  const useTime = existsSync('/usr/bin/time')
  const [bin, full] = useTime ? ['/usr/bin/time', ['-f', '@@TIME %e %M', cmd, ...argv]] : [cmd, argv]
  const started = Date.now()
  return await new Promise((resolve, reject) => {
    const child = spawn(bin, full, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', d => { out += String(d) })
    child.stderr.on('data', d => { err += String(d) })
    child.on('error', reject)
    child.on('close', code => {
      const m = /@@TIME ([\d.]+) (\d+)/.exec(err)
      const wall = m != null ? Number(m[1]) : (Date.now() - started) / 1000
      const rssMiB = m != null ? Number(m[2]) / 1024 : NaN
      if (code !== 0) process.stderr.write(err)
      resolve({ wall, rssMiB, code: code ?? -1, out })
    })
  })
}

/**
 * Flushes dirty data, drops the page cache (when allowed: root, and a writable /proc/sys) and waits a
 * moment, so that one tool's writes (and the discards of deleted files on a disk mounted with `discard`)
 * are not billed to the next tool's timing, and every timed step starts from the same cold cache.
 * It also helps creating files after deleting many: ext4 allocates no inode deleted in the last 30 s
 * (330 s while its inode-table block is dirty) while that block is cached, and checks every candidate, so
 * creating right after deleting is several times slower (here 200,000 files took 7 s on a fresh disk, 74 s
 * right after deleting as many, 12 s when sync and a dropped cache came between: perf shows the time in
 * recently_deleted() under ext4_create). Restore targets are deleted only at the end for the same reason.
 * Returns whether the cache was dropped.
 */
export async function settle (): Promise<boolean> {
  await timed('sync', [])
  const dropped = await dropCaches()
  await new Promise(resolve => setTimeout(resolve, 3000))
  return dropped
}

/** Drops the clean page cache, dentries and inodes (`3` into /proc/sys/vm/drop_caches); false when not allowed. */
export async function dropCaches (): Promise<boolean> {
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3')
    return true
  } catch {
    return false
  }
}

export async function du (...paths: string[]): Promise<number> {
  const m = await timed('du', ['-sbc', ...paths])
  return Number(/(\d+)\s+total/.exec(m.out)?.[1] ?? NaN)
}

/** Resets a process's peak resident set (VmHWM) to its current one (Linux: `5` into /proc/PID/clear_refs). */
export async function resetPeak (pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}

/** A live process's resident set and its peak so far (VmRSS, VmHWM), in MiB; NaN when it is gone. */
export async function processMemory (pid: number): Promise<{ rssMiB: number, peakMiB: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 }
  } catch {
    return { rssMiB: NaN, peakMiB: NaN }
  }
}
