/** `deno task dashboards`: writes the Grafana dashboards of deploy/grafana/dashboards.ts. */
import { renderDashboards } from "../deploy/grafana/dashboards.ts";
import { flags } from "../app/flags.ts";

const HELP = `
deno task dashboards

Regenerates deploy/grafana/dashboards/*.json from deploy/grafana/dashboards.ts. Edit the .ts,
run this, commit both; a test fails when they disagree.
`;

export async function main(args: string[] = Deno.args): Promise<void> {
  flags(args, {}, HELP);
  const dir = new URL("../deploy/grafana/dashboards/", import.meta.url);
  for (const [file, text] of renderDashboards()) {
    await Deno.writeTextFile(new URL(file, dir), text);
    console.log(`wrote deploy/grafana/dashboards/${file}`);
  }
}

if (import.meta.main) await main();
