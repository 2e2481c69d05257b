/**
 * A web ReadableStream that pulls from an async generator: one chunk asked for, one produced (the
 * reader's pace sets the fetching's), and the generator's `finally` runs when the reader cancels.
 */
export function streamOf (gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const { value, done } = await gen.next()
        if (done === true) controller.close()
        else controller.enqueue(value)
      } catch (err) {
        controller.error(err)
      }
    },
    async cancel () {
      await gen.return(undefined)
    }
  }, { highWaterMark: 1 })
}
