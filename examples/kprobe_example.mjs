#!/usr/bin/env node
// A port of the kernel's samples/kprobes/kprobe_example.c: a kprobe on kernel_clone (or the function
// given as symbol=NAME) whose pre- and post-handlers print p->addr, regs->ip and regs->flags each time
// it is hit. Module init registers it, the workload runs (a fork happens on every `spawn`), module
// exit unregisters it. The handlers' pr_info lines are printed as dmesg shows them (%p unhashed).
//
//   node examples/kprobe_example.mjs [symbol=kernel_clone] [workload=default]
import { InitError, openKernel, px } from 'ktrace';

const params = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const symbol = params.symbol ?? 'kernel_clone';

/* For each probe you need to allocate a kprobe structure */
const kp = { symbol_name: symbol };

const kernel = openKernel();
let r;
try {
  r = kernel.run({
    workload: params.workload ?? 'default',
    init(k) {
      /* kprobe pre_handler: called just before the probed instruction is executed */
      kp.pre_handler = function handler_pre(p, regs) {
        k.printk(`<${p.symbol_name}> p->addr = 0x${px(p.addr)}, ip = ${px(regs.ip).replace(/^0+/, '')}, flags = 0x${regs.flags.toString(16)}`);
        /* A dump_stack() here will give a stack backtrace */
        return 0;
      };
      /* kprobe post_handler: called after the probed instruction is executed */
      kp.post_handler = function handler_post(p, regs, flags) {
        k.printk(`<${p.symbol_name}> p->addr = 0x${px(p.addr)}, flags = 0x${regs.flags.toString(16)}`);
      };
      const ret = k.register_kprobe(kp);
      if (ret < 0) {
        k.printk(`register_kprobe failed, returned ${ret}`);
        return ret;
      }
      k.printk(`Planted kprobe at ${px(kp.addr)}`);
    },
    exit(k) {
      k.unregister_kprobe(kp);
      k.printk(`kprobe at ${px(kp.addr)} unregistered`);
    },
  });
} catch (e) {
  if (!(e instanceof InitError)) throw e;
  for (const line of e.log) console.log(line);
  console.error(`insmod: ERROR: could not insert module: ${e.message}`);
  process.exit(1);
}
for (const line of r.log) console.log(line);
process.exitCode = r.exitCode;
