/* Test functions for the emulator, built twice: with the fixture kernel's flags (into funcs.elf, run in
 * the emulator) and natively (funcs-native, the oracle). Keep them freestanding and deterministic. */
typedef unsigned long u64; typedef long s64; typedef unsigned int u32; typedef int s32;
typedef unsigned char u8; typedef unsigned short u16;

u32 crc32_le(u32 crc, const u8 *p, u64 len) {
	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++) crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return crc;
}
int my_strcmp(const char *a, const char *b) {
	while (*a && *a == *b) { a++; b++; }
	return (u8)*a - (u8)*b;
}
u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
s64 sw(s64 x, s64 y) {
	switch (x) {
	case 0: return y + 1;
	case 1: return y * 3;
	case 2: return y - 7;
	case 3: return y << 3;
	case 4: return y / 5;
	case 5: return y % 11;
	case 6: return ~y;
	case 7: return y ^ 0x5a5a;
	case 8: return -y;
	default: return 42;
	}
}
u64 mix(u64 a, u64 b) {
	u64 r = 0;
	for (int i = 0; i < 64; i++) {
		r += (a * b) >> (i & 63);
		r ^= (r << 13) | (r >> 51);
		a = a * 6364136223846793005ul + 1442695040888963407ul;
		b += a / (b | 1) + (s64)a % 97;
		r -= (u64)__builtin_parityl(a) + __builtin_clzl(b | 1) + __builtin_ctzl(a | 0x100);
	}
	return r;
}
s64 sdiv(s64 a, s64 b) { return a / b + a % b; }
unsigned __int128 mul128(u64 a, u64 b) { return (unsigned __int128)a * b; }
u64 muladd128(u64 a, u64 b) { unsigned __int128 p = (unsigned __int128)a * b; return (u64)(p >> 64) ^ (u64)p; }
u64 sum_array(const u32 *p, u64 n) { u64 s = 0; for (u64 i = 0; i < n; i++) s += p[i] * (i + 1); return s; }
int kprobe_target(int a, int b, int c, int d, int e, int f) { return a + b * c - d / (e ? e : 1) + f; }
u64 loop_bench(u64 n) {
	u32 crc = ~0u; u64 acc = 0;
	for (u64 i = 0; i < n; i++) {
		crc ^= (u32)i;
		for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
		acc += crc;
	}
	return acc;
}
