// oclif `command_not_found` hook (`bitscrape pnig`). Without a terminal to ask on (a pipe, a
// script, CI set) it is bad input like any other: one line on stderr naming the closest command,
// exit 2, nothing read from stdin. On a terminal, @oclif/plugin-not-found asks "Did you mean
// ping?" and runs it on yes; it is called from here rather than listed as a plugin, because
// oclif runs every plugin's hook for the event and it would print beside this one.
import { toConfiguredId, type Hook, type Interfaces } from '@oclif/core';
import { quote } from '../core/util/quote.js';
import { closest } from './suggest.js';

/** A person at a terminal who can answer a prompt (the progress spinner uses the same CI rule). */
function canAsk(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY) && !process.env.CI;
}

/**
 * The command as typed and the arguments after it. oclif's id for an unknown command runs every
 * word up to the first flag together (`kegen my.key` → `kegen:my.key`), so the words come from
 * argv: topic words (`routing`), then the one word that is not a command.
 */
function typedCommand(config: Interfaces.Config, oclifView: { id: string; argv?: string[] }, argv: string[]): { id: string; argv: string[] } {
  const { id } = oclifView;
  const topics = new Set(config.topics.map((t) => t.name));
  let n = 0;
  while (n < argv.length && topics.has(argv.slice(0, n + 1).join(':'))) n++;
  if (n < argv.length) n++;
  const typed = argv.slice(0, n).join(':');
  // not started from the command line (a hook or plugin ran the command): keep oclif's view
  if (n === 0 || (id !== typed && !id.startsWith(`${typed}:`))) return { id, argv: oclifView.argv ?? [] };
  return { id: typed, argv: argv.slice(n) };
}

const hook: Hook.CommandNotFound = async function (opts) {
  const { config } = opts;
  const bin = config.bin;
  const typed = typedCommand(config, opts, process.argv.slice(2));
  if (canAsk()) {
    // loaded only here: it pulls in @inquirer/prompts
    const { default: prompt } = await import('@oclif/plugin-not-found');
    return prompt.call(
      {
        ...this,
        warn: (message) => process.stderr.write(`${bin}: ${message}\n`),
        error: (message) => {
          process.stderr.write(`${bin}: ${typeof message === 'string' ? message : message.message}\n`);
          this.exit(2);
        },
      },
      { ...opts, ...typed },
    );
  }
  const hidden = new Set(config.commands.filter((c) => c.hidden).map((c) => c.id));
  const ids = [...config.commandIDs, ...config.commands.flatMap((c) => c.aliases), ...config.topics.filter((t) => !t.hidden).map((t) => t.name)];
  const candidates = new Set(ids.filter((id) => !hidden.has(id)).map((id) => toConfiguredId(id, config)));
  const shown = toConfiguredId(typed.id, config);
  const suggestion = closest(shown, candidates);
  const hint = suggestion === undefined ? '' : `; did you mean '${suggestion}'?`;
  process.stderr.write(`${bin}: ${quote(shown)} is not a ${bin} command${hint} (${bin} help lists them)\n`);
  this.exit(2);
};

export default hook;
