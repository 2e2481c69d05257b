/** The command-line interface: argument parsing, passphrase input, progress rendering, exit codes. */
export { COMMANDS, EXIT } from './commands.js'
