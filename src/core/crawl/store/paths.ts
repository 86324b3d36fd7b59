// The crawl database's default location lives with the other data files.
export { defaultDbPath } from '../../paths.js';
