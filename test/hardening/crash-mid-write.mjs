// Preloaded into the gradc CLI by files.test.ts (`node --import`): the first write of the
// output writes half of the text and then SIGKILLs the process, as a crash or `kill -9`
// half-way through writing would.
import fs from 'node:fs';

const original = fs.writeFileSync;
fs.writeFileSync = function (target, data, ...rest) {
  const text = String(data);
  const half = text.slice(0, text.length >> 1);
  original.call(fs, target, half, ...rest);
  process.kill(process.pid, 'SIGKILL');
};
