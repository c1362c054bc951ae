import type { Command } from 'commander';
import { hinted, UserError } from '../lib/errors.js';
import { exitWith, out } from '../lib/output.js';

/** `tool`: the Judge's tools, by the judge's own code path; results are always the tool's JSON. */
export function registerToolCommands(program: Command): void {
  program
    .command('tool')
    .summary("run one of the Judge's tools (JSON)")
    .description("run one of the Judge's tools and print its JSON result (an error result exits 1), or list them")
    .argument('[name]', 'the tool')
    .option('--input <json>', "the tool's arguments as JSON")
    .option('--list', 'the tools, with their input schemas')
    .action(async (name: string | undefined, opts: { input?: string; list?: boolean }, cmd: Command) => {
      const { builtInTools } = await import('../../activities/game/judge/registry.js');
      const tools = builtInTools();
      if (opts.list) {
        const list = [...tools.values()].map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
        out(cmd).print(list.map((t) => `${t.name}: ${t.description}`).join('\n'), list);
        return;
      }
      const tool = name ? tools.get(name) : undefined;
      if (!tool) throw new UserError(`unknown tool "${name ?? ''}"; one of: ${[...tools.keys()].join(', ')}`);
      if (opts.input === undefined) throw new UserError(hinted(`--input '<json>' is required`, `e.g. nanoflux tool ${tool.name} --input '{"…": …}'; \`nanoflux tool --list\` shows its schema`));
      let args: unknown;
      try {
        args = JSON.parse(opts.input);
      } catch (e) {
        console.log(JSON.stringify({ error: `--input is not valid JSON: ${(e as Error).message}` }));
        exitWith(1);
        return;
      }
      // The judge's own code path: the tool's JSON text, verbatim; an error result exits non-zero.
      const result = await tool.run(args);
      console.log(result);
      if ('error' in (JSON.parse(result) as object)) exitWith(1);
    });
}
