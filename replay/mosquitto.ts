/**
 * A real Mosquitto (Debian's `mosquitto`) for tests and replay, on a free loopback port. Plain:
 * no file at all (`-p PORT`: Mosquitto then listens on loopback only and lets anyone in), so
 * replay needs no write permission. With a password file or a TLS listener (a throwaway CA and
 * a server certificate for `localhost`, made with openssl): from a config written to a
 * temporary folder. `stop` kills it, as a broker crash would; `start` brings it back on the
 * same port.
 */

import { freeLoopbackPort } from "../core/listen.ts";

export const MOSQUITTO = "/usr/sbin/mosquitto";

/** Mosquitto is not installed: the message names the package and the command that adds it. */
export class BrokerMissingError extends Error {
  /** `why`: what needs the broker, said first. */
  constructor(binary: string, why?: string) {
    super(
      `${why ? `${why}, and ` : ""}Mosquitto, the MQTT broker, is not installed (${binary} ` +
        "is missing): install the Debian package mosquitto (apt-get install mosquitto; " +
        "`./dev demo` and `./dev test` install it)",
    );
    this.name = "BrokerMissingError";
  }
}

/** Whether `binary` can be started (running it with -h; only a missing program says no). */
export async function brokerInstalled(binary = MOSQUITTO): Promise<boolean> {
  try {
    await new Deno.Command(binary, { args: ["-h"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

export interface BrokerOptions {
  /** Require this user name and password (no anonymous clients). */
  readonly user?: { readonly name: string; readonly password: string };
  /** A TLS listener with a self-signed CA (`caPem`); clients connect to `localhost`. */
  readonly tls?: boolean;
  /** Where its temporary folder goes (default: the system's); the bench may write only ./state. */
  readonly parent?: string;
  /** The program (tests of a missing broker name one that does not exist). */
  readonly binary?: string;
}

export class Mosquitto {
  #process?: Deno.ChildProcess;
  #log = "";

  private constructor(
    /** The config's folder; none for a plain broker. */
    readonly dir: string | undefined,
    readonly port: number,
    readonly tls: boolean,
    readonly binary: string,
    /** The CA that signed the broker's certificate (TLS only). */
    readonly caPem?: string,
  ) {}

  /**
   * Starts a broker; throws BrokerMissingError when Mosquitto is not installed, and with its
   * log when it does not come up.
   */
  static async start(options: BrokerOptions = {}): Promise<Mosquitto> {
    const binary = options.binary ?? MOSQUITTO;
    const port = freeLoopbackPort();
    if (!options.user && !options.tls) {
      const broker = new Mosquitto(undefined, port, false, binary);
      await broker.start();
      return broker;
    }
    const dir = await Deno.makeTempDir({ prefix: "ev-mosquitto-", dir: options.parent });
    const lines = [`listener ${port} 127.0.0.1`, "persistence false", "log_dest stderr"];
    // Run as root (CI), Mosquitto would switch to its own user, which cannot read this folder.
    if (Deno.uid() === 0) lines.push("user root");
    if (options.user) {
      const file = `${dir}/passwd`;
      await run("mosquitto_passwd", ["-b", "-c", file, options.user.name, options.user.password]);
      lines.push(`password_file ${file}`, "allow_anonymous false");
    } else {
      lines.push("allow_anonymous true");
    }
    let caPem: string | undefined;
    if (options.tls) {
      caPem = await makeCertificates(dir);
      lines.push(`cafile ${dir}/ca.pem`, `certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`);
    }
    await Deno.writeTextFile(`${dir}/mosquitto.conf`, lines.join("\n") + "\n");
    const broker = new Mosquitto(dir, port, options.tls === true, binary, caPem);
    try {
      await broker.start();
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
    return broker;
  }

  get url(): string {
    return this.tls ? `mqtts://localhost:${this.port}` : `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  /** Mosquitto's own log so far (for failed tests). */
  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    if (this.#process) return;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.binary, {
        args: this.dir ? ["-c", `${this.dir}/mosquitto.conf`] : ["-p", String(this.port)],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new BrokerMissingError(this.binary);
      throw err;
    }
    this.#process = child;
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.#log += decoder.decode(chunk);
    })().catch(() => {});
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        return;
      } catch {
        if (Date.now() > deadline) {
          await this.stop();
          throw new Error(`mosquitto did not start on port ${this.port}:\n${this.#log}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /**
   * Gives the user a new password (BMW's broker takes the current ID token) and has the broker
   * reload its password file (SIGHUP); connected clients stay connected.
   */
  async setPassword(name: string, password: string): Promise<void> {
    await run("mosquitto_passwd", ["-b", `${this.dir}/passwd`, name, password]);
    const reloads = () => this.#log.split("Reloading config.").length;
    const before = reloads();
    this.#process?.kill("SIGHUP");
    // It logs the line, then reloads before it reads another packet.
    const deadline = Date.now() + 5000;
    while (this.#process && reloads() === before) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not reload:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Kills the broker (SIGKILL: no goodbye to its clients, like a crash). */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }

  /** Stops it and removes its folder. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

async function run(command: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(command, { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a server certificate for localhost and 127.0.0.1; returns the CA's PEM. */
export async function makeCertificates(dir: string): Promise<string> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=ev-observer test CA",
  ], dir);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ], dir);
  return await Deno.readTextFile(`${dir}/ca.pem`);
}
