// src/lib public surface: the library's composition, re-exported by the package entry (src/index.ts).
//   const k = openKernel(); const r = k.run({ workload: 'cat', init(s) { s.register_kprobe({ symbol_name: 'vfs_read' }); } });
export { openKernel, Kernel, KernelSession, InitError, type KernelOptions, type RunOptions, type RunReport } from './kernel.js';
