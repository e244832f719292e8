// ktrace disasm (commands/disasm.ts): objdump -d of a function or from an address, with symbolized targets.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { Image } from '../../elf/image.js';
import { colorEnabled, stdoutStream, styler } from '../../output/tty.js';
import { out } from '../../output/write.js';
import { loadIndexedImage } from '../load-image.js';
import { icedAhead } from '../../emu/iced.js';

export interface DisasmArgs extends GlobalArgs {
  target: string;
  intel: boolean;
}

export interface Resolved { start: number; end: number }

/**
 * FUNC → the whole function ([addr, addr+st_size), as `objdump --disassemble=FUNC`);
 * FUNC+OFF or an address → from there to the end of the function that holds it.
 */
export function resolveTarget(img: Image, target: string): Resolved | string {
  const m = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(target);
  // A name wins over a hex-looking address (`face`, `add`) when the image has that symbol.
  if (m && (img.symbol(m[1]!) || !/^(0x)?[0-9a-fA-F]+$/.test(target))) {
    const name = m[1]!;
    const fn = img.functionNamed(name);
    const sym = fn ?? img.symbol(name);
    if (!sym) return `no symbol '${name}' in the image`;
    const off = m[2] ? Number(m[2]) : 0;
    const func = fn ?? img.functionAt(sym.addr);
    if (!func) return `'${name}' is not a function`;
    // An assembly symbol without .size: up to the next symbol, as kallsyms sizes it.
    const end = func.addr + (func.size || img.lookupAddr(func.addr)?.size || 0);
    const start = sym.addr + off;
    if (start >= end) return `${target} is beyond the end of ${func.name} (size 0x${func.size.toString(16)})`;
    return { start, end };
  }
  const a = /^(?:0x)?([0-9a-fA-F]{1,16})$/.exec(target);
  if (!a) return `cannot parse '${target}': expected FUNC, FUNC+OFFSET or a hex address`;
  const addr = Number(BigInt.asIntN(64, BigInt('0x' + a[1]!)));
  const func = img.functionAt(addr);
  if (!func) return `no function at 0x${a[1]!.toLowerCase()}`;
  return { start: addr, end: func.addr + func.size };
}

export async function disasm(args: DisasmArgs): Promise<void> {
  const ahead = icedAhead(); // iced's WebAssembly compiles on another thread while the image loads
  const img = await loadIndexedImage(args.vmlinux);
  const r = resolveTarget(img, args.target);
  if (typeof r === 'string') throw new CliError(`disasm: ${r}`, /^cannot parse/.test(r) ? EXIT_USAGE : 1);
  // (bin/ktrace's loader runs disasm with V8's --liftoff-only: scripts/bundle-cli.mjs COMMAND_V8_FLAGS.)
  const { Disassembler } = await import('../../elf/disasm.js'); // iced-x86: only once the target resolved
  await ahead;
  const d = new Disassembler(img, args.intel ? 'intel' : 'att');
  try {
    let text = d.render(r.start, r.end);
    if (colorEnabled(stdoutStream())) {
      // On a terminal: the header bold, symbol names cyan (objdump --disassembler-color=on style).
      const s = styler(true);
      text = text.replace(/^[0-9a-f]{16} <.*>:$/m, (h) => s('bold', h)).replace(/ <[^>\n]+>/g, (l) => ' ' + s('cyan', l.slice(1)));
    }
    out(text);
  } finally {
    d.free();
  }
}
