import { join } from 'node:path';
import { SqliteStore } from '../../../src/core/store/index.js';
import { storeContract } from './contract.js';
import { tempDir } from './helpers.js';

storeContract('SQLite', async () => SqliteStore.open(join(tempDir(), 'c.db')));
