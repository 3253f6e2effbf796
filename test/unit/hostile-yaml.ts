/** YAML made to exhaust a parser: used by the unit tests of the limits and the CLI tests. */

/** The classic: nine levels of nine aliases, 9^9 strings from a few hundred bytes. */
export function billionLaughs(): string {
  const names = "abcdefghi";
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < names.length; i++)
    text += `${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(",")}]\n`;
  return text;
}

/** Under yaml's own alias limit (100 uses of an alias-free anchor), 100,000 nodes once expanded. */
export function aliasBombUnderTheAliasLimit(): string {
  return `a: &a [${Array.from({ length: 1000 }, (_, i) => i).join(",")}]\nb: [${Array(100).fill("*a").join(",")}]\n`;
}

/**
 * The bomb of issue 11 at file scale: about 4 MB of anchors, each a list of 1,000 strings
 * used 99 times, every alias within yaml's own limit; expanded, tens of millions of nodes.
 */
export function fourMegabyteAliasBomb(): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < 4_000_000; i++) {
    const part = `k${i}: &a${i} [${Array(1000).fill("x").join(",")}]\nr${i}: [${Array(99).fill(`*a${i}`).join(",")}]\n`;
    parts.push(part);
    size += part.length;
  }
  return parts.join("");
}
