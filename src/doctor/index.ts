/** Diagnostics: this folder's one job is telling which kernels this machine runs and how fast (holdfast doctor). */
export { measureKernels } from './kernel-report.js'
export type { KernelReport, MeasureOptions } from './kernel-report.js'
