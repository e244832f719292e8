/* Native twin of the fixture functions the emulator tests call (test/emu/call.test.ts): the same C
 * sources (fixtures/kernel/lib/{compute,crc32}.c), built for the host, print what they return for the
 * test's arguments as JSON lines. strcmp and kprobe_target are copied from lib/string.c and
 * kernel/test_kprobes.c (those files need the whole kernel to build). */
#include <stdio.h>
#include <stddef.h>
#include "../../../fixtures/kernel/lib/crc32.c"
#include "../../../fixtures/kernel/lib/compute.c"

static int k_strcmp(const char *cs, const char *ct)
{
	unsigned char c1, c2;

	for (;;) {
		c1 = (unsigned char)*cs++;
		c2 = (unsigned char)*ct++;
		if (c1 != c2)
			return c1 < c2 ? -1 : 1;
		if (!c1)
			break;
	}
	return 0;
}
#define div_factor 3
static u32 kprobe_target(u32 value) { return (value / div_factor); }

static u8 buf[4096];
static const char *strs[][2] = { { "abc", "abc" }, { "abc", "abd" }, { "abd", "abc" }, { "", "a" }, { "a", "" },
				 { "\xff", "a" }, { "vfs_read", "vfs_write" }, { "", "" } };
static const u32 crc_args[][2] = { { 0xffffffffu, 0 }, { 0xffffffffu, 1 }, { 0, 1000 }, { 0x12345678u, 777 }, { 0xffffffffu, 4096 } };
static const unsigned long rec_len[] = { 0, 1, 16, 17, 100, 1000, 4096 };
static const u32 kt_args[] = { 0, 1, 3, 100, 0x7fffffffu, 0xffffffffu, 1000000 };

int main(void)
{
	compute_fill_pattern(buf, sizeof buf);
	for (size_t i = 0; i < sizeof crc_args / sizeof crc_args[0]; i++)
		printf("{\"fn\":\"crc32_le\",\"args\":[%u,%u],\"ret\":%u}\n", crc_args[i][0], crc_args[i][1], crc32_le(crc_args[i][0], buf, crc_args[i][1]));
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		printf("{\"fn\":\"strcmp\",\"args\":[%zu],\"ret\":%d}\n", i, k_strcmp(strs[i][0], strs[i][1]));
	for (u32 op = 0; op < 20; op++)
		printf("{\"fn\":\"compute_mix\",\"args\":[%u,%u,%u],\"ret\":%u}\n", op, 0x12345678u + op * 0x01010101u, 0x9abcdef0u ^ (op << 20), compute_mix(op, 0x12345678u + op * 0x01010101u, 0x9abcdef0u ^ (op << 20)));
	for (size_t i = 0; i < sizeof rec_len / sizeof rec_len[0]; i++)
		printf("{\"fn\":\"compute_recurse\",\"args\":[%lu,%u],\"ret\":%u}\n", rec_len[i], 0xdeadbeefu, compute_recurse(buf, rec_len[i], 0xdeadbeefu));
	printf("{\"fn\":\"compute_checksum\",\"args\":[1000,3],\"ret\":%u}\n", compute_checksum(buf, 1000, 3));
	for (size_t i = 0; i < sizeof kt_args / sizeof kt_args[0]; i++)
		printf("{\"fn\":\"kprobe_target\",\"args\":[%u],\"ret\":%u}\n", kt_args[i], kprobe_target(kt_args[i]));
	return 0;
}
