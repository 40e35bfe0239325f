export async function benchRealNode(): Promise<Record<string, number | string>> { throw new Error("todo"); }
