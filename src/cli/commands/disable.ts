// ktrace disable PATTERN...: see enable.ts.
import { enableCommand } from './enable.js';

const m = enableCommand(false);
export default m.default;
export const fast = m.fast;
