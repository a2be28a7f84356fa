// Preloaded into the gradc CLI by files.test.ts (`node --import`): the first write of the
// output writes half of the bytes and then SIGKILLs the process, as a crash or `kill -9`
// half-way through writing would.
import fs from 'node:fs';

const original = fs.writeSync;
fs.writeSync = function (fd, data, offset = 0, ...rest) {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  original.call(fs, fd, bytes.subarray(offset, offset + ((bytes.length - offset) >> 1)));
  process.kill(process.pid, 'SIGKILL');
  return rest.length;
};
