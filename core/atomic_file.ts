/**
 * Writes a file so that a crash at any moment leaves the old complete file (or none) or the
 * new one, never half of one: a temp file beside it, fsynced, given its exact mode, renamed
 * over the old one, and the folder fsynced so the rename itself survives a power cut.
 */

export async function writeFileAtomically(
  path: string,
  data: Uint8Array,
  /** The file's exact mode (whatever the umask); the umask's default when absent. */
  options: { mode?: number } = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  await removeLeftovers(dir, `${path.slice(slash + 1)}.tmp-`);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const mode = options.mode;
  const file = await Deno.open(tmp, {
    createNew: true,
    write: true,
    ...mode === undefined ? {} : { mode },
  });
  try {
    for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
    await file.sync();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  try {
    if (mode !== undefined) await Deno.chmod(tmp, mode); // exact mode whatever the umask
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/**
 * Temp files a killed writer left. A file has one writer at a time; were there two, the other
 * one's rename fails loudly (its temp file gone) rather than half a file being kept.
 */
async function removeLeftovers(dir: string, prefix: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith(prefix)) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
      }
    }
  } catch { /* the folder cannot be listed: nothing to tidy */ }
}

/** Makes the rename durable; some platforms cannot open a directory, which is fine. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const f = await Deno.open(dir, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  } catch { /* best effort */ }
}
