import { readProcFileSync } from "./read.js";

/** uid → user name from a passwd file, read lazily once. A missing file just means no names. */
export class UserNames {
  #names: Map<number, string> | undefined;
  constructor(private readonly passwdPath: string) {}

  name(uid: number): string | undefined {
    if (!this.#names) this.#names = this.#load();
    return this.#names.get(uid);
  }

  #load(): Map<number, string> {
    const names = new Map<number, string>();
    let text = "";
    try {
      text = readProcFileSync(this.passwdPath);
    } catch {
      return names;
    }
    for (const line of text.split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
    }
    return names;
  }
}
