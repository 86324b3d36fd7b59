// Preloaded (`node --import`) into a CLI run by tests that check which packages the run loads:
// every module it resolves, ESM (a resolve hook) and CommonJS (require), is appended as one line
// to the file RECORD_MODULES names. Plain JavaScript: it also runs in front of the built CLI.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const out = process.env.RECORD_MODULES;
if (out) {
  register(new URL('./record-modules-hooks.mjs', import.meta.url), { data: { out } });
  const load = Module._load;
  Module._load = function (request, ...rest) {
    appendFileSync(out, `${request}\n`);
    return load.call(this, request, ...rest);
  };
}
