import { parentPort } from 'node:worker_threads'

/**
 * The worker side of WorkerPool's request/response messages: runs `handle` for each request and posts
 * its result (moving the listed buffers), or the error's name and message.
 */
export function serveRequests (handle: (op: string, payload: any) => { result: unknown, transfer?: ArrayBuffer[] }): void {
  parentPort?.on('message', (msg: { id: number, op: string, payload: unknown }) => {
    let reply: { result: unknown, transfer?: ArrayBuffer[] }
    try {
      reply = handle(msg.op, msg.payload)
    } catch (err) {
      const e = err as Error
      parentPort?.postMessage({ id: msg.id, error: { name: e.name, message: e.message } })
      return
    }
    parentPort?.postMessage({ id: msg.id, result: reply.result }, reply.transfer ?? [])
  })
}
