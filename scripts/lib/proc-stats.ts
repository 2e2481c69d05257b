import { readFile } from 'node:fs/promises'

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux this runs on). */
const CLK_TCK = 100

/** utime + stime of a process, in seconds (Linux /proc). */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK // fields 14 and 15 of the whole line
}

/** VmRSS and VmHWM (peak) of a process, in MiB (Linux /proc). */
export async function memory (pid: number): Promise<{ rss: number, hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 }
}
