#!/usr/bin/env -S node --import tsx --no-warnings
// Development entry: runs src/ through tsx. The root plugin is loaded with ignoreManifest, so an
// oclif.manifest.json left by `npm run build` (which describes dist/) never stands in for the
// sources: commands, flags and help always come from src/commands.
import { Config, Plugin, execute } from '@oclif/core';
import { fileURLToPath } from 'node:url';

process.env.NODE_ENV = 'development';
const root = new Plugin({ root: fileURLToPath(new URL('..', import.meta.url)), isRoot: true, ignoreManifest: true });
await root.load();
// Handing oclif our root plugin means it loads no other plugin by itself: load the rest (core
// plugins from package.json, linked and installed user plugins) with force.
const config = await Config.load({ root: root.root, plugins: new Map([[root.name, root]]) });
await config.loadPluginsAndCommands({ force: true });

await execute({ development: true, loadOptions: config });
