#!/usr/bin/env node
// `npm run build`'s last step: the code cache's fingerprint of the emulator's compiled modules
// (src/kernel/code-cache.ts computeFingerprint), written once beside them (dist/src/emu/fingerprint.json)
// instead of reading and hashing them on every run. A run uses it only while no module it covers is
// newer than it (a compile without this step computes the fingerprint again).
import { writeBuiltFingerprint } from '../dist/src/kernel/code-cache.js';
import { writeBuiltBootPrint } from '../dist/src/kernel/snapshot.js';
writeBuiltFingerprint();
writeBuiltBootPrint(); // the boot snapshots' key likewise (dist/src/kernel/fingerprint.json: src/kernel/snapshot.ts)
