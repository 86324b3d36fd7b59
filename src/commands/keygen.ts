import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { BadInputError } from '../cli/errors.js';
import { mutableTarget } from '../core/dht/item-rules.js';
import { generateKeyFile, KeyFileError } from '../core/dht/keyfile.js';
import { toHex } from '../core/wire/hex.js';
import { renderKeyValues } from '../output/table.js';

export default class Keygen extends BaseCommand {
  static override description = 'Create an ed25519 key file for signing BEP 44 mutable items (mode 0600; never overwrites)';
  static override examples = ['<%= config.bin %> keygen my.key', '<%= config.bin %> keygen my.key --json'];
  static override args = { file: Args.string({ description: 'where to write the key file', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Keygen);
    let publicKey: Uint8Array;
    try {
      publicKey = (await generateKeyFile(args.file)).publicKey;
    } catch (err) {
      if (err instanceof KeyFileError) throw new BadInputError(err.message);
      throw err;
    }
    const rec = { file: args.file, public_key: toHex(publicKey), target: toHex(mutableTarget(publicKey)) };
    if (flags.json) this.stdout.record(rec);
    else {
      this.stdout.text(
        renderKeyValues([
          ['wrote', rec.file, { keep: true }],
          ['public key', rec.public_key, { keep: true }],
          ['target', `${rec.target} (no salt)`, { keep: true }],
        ]) + '\n',
      );
    }
  }
}
