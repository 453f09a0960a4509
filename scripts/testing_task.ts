/** Test helper: the exact command line of a `deno task`, run as one direct child process. */
const root = new URL("../", import.meta.url);

/** `deno.json` task `name` split into arguments for Deno.execPath() (no shell, no wrapper). */
export async function taskArgs(name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const task: string = config.tasks[name];
  const parts = task.split(/\s+/);
  if (parts[0] !== "deno" || /[|&;<>]/.test(task)) {
    throw new Error(`task ${name} is not a plain deno command`);
  }
  return parts.slice(1);
}

export const projectRoot = root.pathname;
