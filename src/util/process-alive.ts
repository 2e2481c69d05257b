/** Whether a process of this host with that id runs (EPERM: it runs, under another user). */
export function processAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}
