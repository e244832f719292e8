/** One benchmark section: prints its own table; returns false when something it measured was wrong. */
export interface Section {
  name: string;
  description: string;
  run(opts: Record<string, string>): Promise<boolean> | boolean;
}
