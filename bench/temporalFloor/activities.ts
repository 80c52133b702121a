/** An activity that does nothing: what is left is Temporal's own cost per round trip. */
export async function nothing(): Promise<void> {
  return undefined;
}
