// The kretprobe trampoline's name and place, light enough for /proc/kallsyms without the emulator:
// kretprobes run on rethook since 5.19 (arch/x86/kernel/rethook.c), whose trampoline kallsyms lists as
// arch_rethook_trampoline. Here it is a vmcall on the first page of the module area (slots.ts
// MODULES_VADDR), which the kretprobe layer takes when it attaches right after the core, as every
// session attaches it (kretprobe.ts checks, and names the page where it really is otherwise).
import type { Image } from '../elf/image.js';

export const KRETPROBE_TRAMPOLINE_SYMBOL = 'arch_rethook_trampoline';
/** 0xffffffffa0000000: MODULES_VADDR (slots.ts). */
export const KRETPROBE_TRAMPOLINE = -0x60000000;
/** The trampoline's code: one vmcall (the host runs rethook_trampoline_handler). */
export const KRETPROBE_TRAMPOLINE_SIZE = 3;

/**
 * Name the trampoline in the image's kallsyms (/proc/kallsyms, %pS, backtraces). A real Linux image
 * defines arch_rethook_trampoline itself: it keeps its own.
 */
export function addTrampolineSymbol(image: Image, addr = KRETPROBE_TRAMPOLINE): void {
  if (image.kallsyms.inImage(KRETPROBE_TRAMPOLINE_SYMBOL)) return;
  image.kallsyms.addRuntime(KRETPROBE_TRAMPOLINE_SYMBOL, addr, KRETPROBE_TRAMPOLINE_SIZE, 'T');
}

/** /proc/kallsyms: the image's symbols in kallsyms order, then those of code the kernel placed at run time. */
export function kallsymsText(image: Image): string {
  addTrampolineSymbol(image);
  return image.kallsyms.text() + image.kallsyms.runtimeText();
}
