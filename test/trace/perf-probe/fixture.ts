// The fixture kernel's DWARF and sources for the perf-probe tests.
import { FIXTURE, fixtureImage } from '../../elf/fixture.js';
import { openDwarf, readSourceLines, type DebugInfo } from '../../../src/debuginfo/open.js';

let info: DebugInfo | undefined;
export function fixtureDwarf(): DebugInfo { return (info ??= openDwarf(fixtureImage(), FIXTURE)); }
export const readSource = (p: string): string[] | undefined => { try { return readSourceLines(fixtureDwarf(), p); } catch { return undefined; } };
