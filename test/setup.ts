// Mocha setup, loaded before every test file (see .mocharc.json).
import '../src/polyfill.js'
