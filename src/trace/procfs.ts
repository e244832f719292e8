// /proc files ktrace can show from the image alone.
import type { Image } from '../elf/image.js';
import type { Vfs } from './vfs.js';
import { addTrampolineSymbol, kallsymsText } from '../kprobe/trampoline.js';

/** Adds /proc/kallsyms: `%016lx %c %s` lines in kallsyms order (kernel/kallsyms.c s_show), as root sees them. */
export function addProcfs(vfs: Vfs, img: Image): void {
  vfs.mkdir('/proc', 0o555);
  let text: string | undefined;
  // then the symbols of code the kernel placed at run time: the kretprobe trampoline
  addTrampolineSymbol(img);
  vfs.addFile('/proc/kallsyms', { mode: 0o444, read: () => (text ??= kallsymsText(img)) });
}
