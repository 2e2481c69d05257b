import { Worker } from 'node:worker_threads'
import { AbortedError } from '../errors.js'

/**
 * A fixed pool of worker threads answering request/response messages. Requests go to the worker with the
 * fewest outstanding requests. start()/stop() follow the service lifecycle: stopping twice, or before
 * starting, is harmless; requests still outstanding at stop() are rejected with AbortedError.
 */
interface Pending { resolve: (v: any) => void, reject: (e: Error) => void }

interface Slot { worker: Worker, pending: Map<number, Pending>, dead?: Error }

export class WorkerPool {
  private slots: Slot[] = []
  private nextId = 1

  constructor (private readonly url: URL, private readonly workerData: unknown, readonly size: number) {}

  start (): void {
    if (this.slots.length > 0) return
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(this.url, { workerData: { ...(this.workerData as object), index: i } })
      const slot: Slot = { worker, pending: new Map() }
      worker.on('message', (msg: { id: number, error?: { name: string, message: string }, result?: unknown }) => {
        const p = slot.pending.get(msg.id)
        if (p == null) return
        slot.pending.delete(msg.id)
        if (msg.error != null) {
          const err = new Error(msg.error.message)
          err.name = msg.error.name
          p.reject(err)
        } else p.resolve(msg.result)
      })
      // a worker that died takes no more requests (postMessage to it would be dropped silently)
      worker.on('error', err => { slot.dead ??= err; this.failAll(slot, err) })
      worker.on('exit', code => { slot.dead ??= new AbortedError(`worker exited with code ${code}`); this.failAll(slot, slot.dead) })
      this.slots.push(slot)
    }
  }

  private failAll (slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err)
    slot.pending.clear()
  }

  async call<T> (op: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    const alive = this.slots.filter(s => s.dead == null)
    if (alive.length === 0) throw this.slots[0]?.dead ?? new AbortedError('worker pool is not running')
    let slot = alive[0]
    for (const s of alive) if (s.pending.size < slot.pending.size) slot = s
    const id = this.nextId++
    return await new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, op, payload }, transfer)
    })
  }

  /** Sends a request to one worker (the one that owns the buffers it carries back, say). */
  async callOn<T> (index: number, op: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    const slot = this.slots[index]
    if (slot == null) throw new AbortedError('worker pool is not running')
    if (slot.dead != null) throw slot.dead
    const id = this.nextId++
    return await new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, op, payload }, transfer)
    })
  }

  /** Sends the same request to every worker; answers come in worker order. */
  async callAll<T> (op: string, payload: unknown): Promise<T[]> {
    return await Promise.all(this.slots.map(async slot => await new Promise<T>((resolve, reject) => {
      if (slot.dead != null) { reject(slot.dead); return }
      const id = this.nextId++
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, op, payload })
    })))
  }

  async stop (): Promise<void> {
    const slots = this.slots
    this.slots = []
    await Promise.all(slots.map(async s => { this.failAll(s, new AbortedError('worker pool stopped')); await s.worker.terminate() }))
  }
}
