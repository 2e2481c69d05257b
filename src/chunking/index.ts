/**
 * Content-defined chunking: splits a byte stream into variable-size chunks at places chosen by the
 * content (FastCDC over a gear table keyed per repository), so that an edit shifts only the chunks around
 * it and unchanged data deduplicates. Pure: no I/O.
 */
export { gearTable, GEAR_KEY_SIZE } from './gear-table.js'
export {
  Chunker, DEFAULT_CHUNKER_PARAMS, validateChunkerParams, MIN_AVG_SIZE, MAX_AVG_SIZE, MAX_MAX_SIZE
} from './chunker.js'
export type { ChunkerParams } from './chunker.js'
