// Runs a parsed workload: each user task is a script interpreter that the task's user code asks,
// through a host call, for its next system call. The system call itself is a real `syscall`
// instruction executed by the emulated CPU into the kernel's entry_SYSCALL_64: nothing is
// short-cut here. Tasks are told apart by their stacks (each task has its own arena).
import type { ArgOperand, Operand, Script, Stmt } from './ast.js';
import {
  MAX_TASKS, USER_ARENA_BASE, USER_ARENA_HEAP, USER_ARENA_SIZE, USER_STACK_SIZE, USER_STRINGS, USER_STUB,
} from '../contract.js';
import { formatResult } from './syscalls.js';

/** The user-memory services the runner needs from the platform. */
export interface UserMemory {
  /** Map [addr, addr+size) for user access (page-rounded; mapping twice is harmless). */
  mapUser(addr: number, size: number, perms: 'rx' | 'r' | 'rw'): void;
  write(addr: number, bytes: Uint8Array): void;
  read(addr: number, len: number): Uint8Array;
}

/** The user code every task runs: ask the host for a system call, make it, repeat. */
export const USER_STUB_CODE = Uint8Array.from([
  0x0f, 0x01, 0xc1, // vmcall         -> host call: load the next system call's registers
  0x0f, 0x05,       // syscall        -> entry_SYSCALL_64
  0xeb, 0xf9,       // jmp USER_STUB
]);
/** Where the stub's `syscall` is: the host call resumes the task there. */
export const USER_SYSCALL_IP = USER_STUB + 3;

const NR_CLONE = 56, NR_EXIT = 60, NR_WAIT4 = 61, NR_EXIT_GROUP = 231;
const CLONE_VM = 0x100, SIGCHLD = 17;

export interface SyscallRequest { nr: number; name: string; args: number[] }

export interface ExpectFailure { file: string; line: number; col: number; source: string; message: string; task: number }

export interface SyscallStats { count: number; results: Map<number, number> }

interface Env { vars: Map<string, number>; bufs: Map<string, { addr: number; size: number }> }

interface Task {
  index: number;
  arena: number;
  heapUsed: number;
  sites: Map<object, number>;
  gen: Generator<SyscallRequest, void, number>;
  started: boolean;
  pending?: SyscallRequest;
  exited: boolean;
}

export class WorkloadRunner {
  readonly stats = new Map<string, SyscallStats>();
  readonly failures: ExpectFailure[] = [];
  /** Tasks by arena index. */
  private tasks: (Task | undefined)[] = [];
  private strings = new Map<Uint8Array, number>();
  private nextArena = 0;
  private freeArenas: number[] = [];
  /** Tasks started so far: a task's index in reports (arenas are reused, indexes are not). */
  private nextIndex = 0;
  private liveTasks = 0;
  syscallsIssued = 0;

  constructor(readonly script: Script, private mem: UserMemory) {}

  /** Map the stub (unless the kernel's /init brings its own: real Linux), the string pool and the
   *  first task; returns where pid 1 starts. */
  setup(opts: { stub?: boolean } = {}): { entry: number; stackTop: number } {
    if (opts.stub !== false) {
      this.mem.mapUser(USER_STUB, 4096, 'rx');
      this.mem.write(USER_STUB, USER_STUB_CODE);
    }
    this.layoutStrings(this.script.body);
    const main = this.newTask(this.script.body, { vars: new Map(), bufs: new Map() }, true);
    return { entry: USER_STUB, stackTop: this.stackTop(main.arena) };
  }

  /** Tasks still running their script. */
  get live(): number { return this.liveTasks; }

  /**
   * A task executed the stub's vmcall. `rsp` identifies it; `rax` is the result of its previous
   * system call (for a new clone child: 0, clone's return in the child). Returns the next call.
   */
  hostCall(rsp: number, rax: number): SyscallRequest | { error: string } {
    const arena = Math.floor((rsp - 1 - USER_ARENA_BASE) / USER_ARENA_SIZE);
    const task = arena >= 0 ? this.tasks[arena] : undefined;
    if (!task) return { error: `host call from an unknown user stack 0x${rsp.toString(16)}` };
    let res: IteratorResult<SyscallRequest, void>;
    if (!task.started) {
      task.started = true;
      res = task.gen.next(0);
    } else {
      const prev = task.pending!;
      this.record(prev, rax);
      res = task.gen.next(rax);
    }
    if (res.done) return { error: `task ${task.index} ran past its exit` };
    task.pending = res.value;
    this.syscallsIssued++;
    if (res.value.nr === NR_EXIT || res.value.nr === NR_EXIT_GROUP) {
      // exit(2) never returns: count it as it is issued.
      this.retire(task);
      this.record(res.value, undefined);
    }
    return res.value;
  }

  private record(req: SyscallRequest, rax: number | undefined): void {
    let s = this.stats.get(req.name);
    if (!s) this.stats.set(req.name, (s = { count: 0, results: new Map() }));
    s.count++;
    if (rax !== undefined) s.results.set(rax, (s.results.get(rax) ?? 0) + 1);
  }

  private stackTop(arena: number): number {
    return USER_ARENA_BASE + (arena + 1) * USER_ARENA_SIZE;
  }

  /**
   * A task for a new user task, in an arena no live task uses: a task that issued exit never runs
   * user code again, so its arena is taken again (its heap is re-zeroed as `buf` allocates it). The
   * kernel refuses a clone beyond max_threads tasks with -EAGAIN (fixtures/kernel/kernel/fork.c: 256
   * on 32 MiB), far below MAX_TASKS arenas, plus the one a refused clone was offered.
   */
  private newTask(body: Stmt[], env: Env, main: boolean): Task {
    let arena = this.freeArenas.pop();
    if (arena === undefined) {
      if (this.nextArena > MAX_TASKS) throw new Error(`more than ${MAX_TASKS} live tasks: the kernel did not refuse the clone with -EAGAIN`);
      arena = this.nextArena++;
      const base = USER_ARENA_BASE + arena * USER_ARENA_SIZE;
      this.mem.mapUser(base + USER_ARENA_SIZE - USER_STACK_SIZE, USER_STACK_SIZE, 'rw');
    }
    const task: Task = { index: this.nextIndex++, arena, heapUsed: 0, sites: new Map(), started: false, exited: false, gen: undefined! };
    task.gen = this.taskMain(task, body, env, main);
    this.tasks[arena] = task;
    this.liveTasks++;
    return task;
  }

  /** The task runs no more user code: its arena is free for the next task. */
  private retire(task: Task): void {
    if (task.exited) return;
    task.exited = true;
    this.liveTasks--;
    if (this.tasks[task.arena] === task) this.tasks[task.arena] = undefined;
    this.freeArenas.push(task.arena);
  }

  /** Per-task, per-site allocation in the task's arena (a buffer in a loop is allocated once). */
  private alloc(task: Task, site: object, size: number): number {
    const have = task.sites.get(site);
    if (have !== undefined) return have;
    const start = (task.heapUsed + 15) & ~15;
    if (start + size > USER_ARENA_HEAP) throw new Error(`task ${task.index} ran out of user memory`);
    const addr = USER_ARENA_BASE + task.arena * USER_ARENA_SIZE + start;
    this.mem.mapUser(addr, size, 'rw');
    task.heapUsed = start + size;
    task.sites.set(site, addr);
    return addr;
  }

  private layoutStrings(stmts: Stmt[]): void {
    const chunks: Uint8Array[] = [];
    let off = 0;
    const visit = (op: ArgOperand | Operand) => {
      if (op.kind === 'string' && !this.strings.has(op.bytes)) {
        this.strings.set(op.bytes, USER_STRINGS + off);
        const z = new Uint8Array(op.bytes.length + 1);
        z.set(op.bytes);
        chunks.push(z);
        off += (z.length + 7) & ~7;
        if (z.length & 7) chunks.push(new Uint8Array(((z.length + 7) & ~7) - z.length));
      }
    };
    const walk = (ss: Stmt[]) => {
      for (const s of ss) {
        if (s.kind === 'call') s.args.forEach(visit);
        else if (s.kind === 'expect') { visit(s.left); visit(s.right); }
        else if (s.kind === 'repeat' || s.kind === 'spawn') walk(s.body);
      }
    };
    walk(stmts);
    if (off === 0) return;
    const all = new Uint8Array(off);
    let p = 0;
    for (const c of chunks) { all.set(c, p); p += c.length; }
    this.mem.mapUser(USER_STRINGS, off, 'rw');
    this.mem.write(USER_STRINGS, all);
    this.mem.mapUser(USER_STRINGS, off, 'r');
  }

  private value(op: Operand, env: Env): number {
    switch (op.kind) {
      case 'int': return op.value;
      case 'string': return this.strings.get(op.bytes)!;
      case 'var': return env.vars.get(op.name) ?? 0;
      case 'elem': {
        const b = env.bufs.get(op.name)!;
        const d = this.mem.read(b.addr + op.index * 4, 4);
        return new DataView(d.buffer, d.byteOffset, 4).getInt32(0, true);
      }
    }
  }

  private *taskMain(task: Task, body: Stmt[], env: Env, main: boolean): Generator<SyscallRequest, void, number> {
    yield* this.exec(task, body, env);
    if (main) {
      // Reap every child so no task is lost when pid 1 exits and the kernel powers off.
      // wait4 reaps one child per call and fails with -ECHILD when none is left.
      for (;;) {
        const r = yield { nr: NR_WAIT4, name: 'wait4', args: [-1, 0, 0, 0] };
        if (r < 0) break;
      }
    }
    yield { nr: NR_EXIT, name: 'exit', args: [0] };
  }

  private *exec(task: Task, stmts: Stmt[], env: Env): Generator<SyscallRequest, void, number> {
    for (const s of stmts) {
      switch (s.kind) {
        case 'buf': {
          const addr = this.alloc(task, s, s.size);
          this.mem.write(addr, new Uint8Array(s.size));
          env.bufs.set(s.target, { addr, size: s.size });
          env.vars.set(s.target, addr);
          break;
        }
        case 'call': {
          const args = s.args.map((a) => {
            if (a.kind !== 'timespec') return this.value(a, env);
            const ns = this.value(a.ns, env);
            const addr = this.alloc(task, a, 16);
            const ts = new DataView(new ArrayBuffer(16));
            ts.setBigInt64(0, BigInt(Math.floor(ns / 1e9)), true);
            ts.setBigInt64(8, BigInt(ns % 1e9), true);
            this.mem.write(addr, new Uint8Array(ts.buffer));
            return addr;
          });
          const r = yield { nr: s.nr, name: s.name, args };
          // The variable is an integer now, whatever it held before (a buffer too: as the parser has it).
          if (s.target) { env.vars.set(s.target, r); env.bufs.delete(s.target); }
          if (s.nr === NR_EXIT || s.nr === NR_EXIT_GROUP) return;
          break;
        }
        case 'repeat':
          // A body that makes no system call does the same each time (a buffer zeroed, an expect on
          // unchanged values): run once, so `repeat N { repeat N { } }` costs nothing, not N*N host steps.
          for (let i = 0, n = makesCalls(s.body) ? s.count : Math.min(s.count, 1); i < n; i++) yield* this.exec(task, s.body, env);
          break;
        case 'spawn':
          for (let i = 0; i < s.count; i++) {
            const child = this.newTask(s.body, { vars: new Map(env.vars), bufs: new Map(env.bufs) }, false);
            const pid = yield { nr: NR_CLONE, name: 'clone', args: [CLONE_VM | SIGCHLD, this.stackTop(child.arena), 0, 0, 0] };
            if (pid < 0) { child.started = true; this.retire(child); }
          }
          break;
        case 'expect':
          this.check(task, s, env);
          break;
      }
    }
  }

  private check(task: Task, s: Extract<Stmt, { kind: 'expect' }>, env: Env): void {
    const fail = (message: string) => this.failures.push({
      file: this.script.file, line: s.pos.line, col: s.pos.col, source: s.source, message, task: task.index,
    });
    const isBytes = (o: Operand) => o.kind === 'string' || (o.kind === 'var' && env.bufs.has(o.name));
    if (isBytes(s.left) || isBytes(s.right)) {
      const str = s.left.kind === 'string' ? s.left : s.right;
      const buf = s.left.kind === 'string' ? s.right : s.left;
      const b = env.bufs.get((buf as { name: string }).name)!;
      const want = (str as { bytes: Uint8Array }).bytes;
      const got = this.mem.read(b.addr, Math.min(b.size, want.length));
      const equal = got.length === want.length && got.every((x, i) => x === want[i]);
      if (equal !== (s.op === '==')) fail(`${s.source}: buffer holds ${JSON.stringify(latin1(got))}`);
      return;
    }
    const l = this.value(s.left, env), r = this.value(s.right, env);
    const ok = s.op === '==' ? l === r : s.op === '!=' ? l !== r : s.op === '<' ? l < r : s.op === '<=' ? l <= r : s.op === '>' ? l > r : l >= r;
    if (!ok) fail(`${s.source}: left side is ${formatResult(l)}${s.right.kind === 'int' ? '' : `, right side is ${formatResult(r)}`}`);
  }
}

const callsMemo = new WeakMap<Stmt[], boolean>();
/** Does running these statements issue a system call (a call, or a spawn's clone)? */
function makesCalls(body: Stmt[]): boolean {
  let r = callsMemo.get(body);
  if (r === undefined) {
    r = body.some((s) => s.kind === 'call' || s.kind === 'spawn' || (s.kind === 'repeat' && s.count > 0 && makesCalls(s.body)));
    callsMemo.set(body, r);
  }
  return r;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}
