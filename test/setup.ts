// Mocha setup, loaded before every test file (see .mocharc.json).
import '../src/polyfill.js'

// Repositories made by the tests derive their passphrase's key with 16 MiB of scrypt instead of 128 MiB
// (holdfast init --kdf-memory; the CLIs and daemons the tests start inherit it): every command that opens
// a repository saves about a quarter of a second. The default is tested where it is made (crypto tests).
process.env.HOLDFAST_KDF_MEMORY ??= '16MiB'
