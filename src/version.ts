/** Holdfast's version (the CLI's --version, the API's status). */
export const VERSION = '0.1.0'
