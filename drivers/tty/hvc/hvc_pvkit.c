// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit console: an early boot console and the hvc0 terminal, both
 * carried by the CONSOLE_WRITE and CONSOLE_READ hypercalls.
 *
 * The host reads and writes guest memory by physical address, so data
 * passes through one static bounce page whose address is always valid,
 * whatever kind of memory (vmalloc, stack, per-cpu) the caller's buffer
 * lives in.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/console.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/page.h>
#include <linux/pvkit.h>
#include <asm/pvkit.h>

#include "hvc_console.h"

#define PVKIT_HVC_VTERMNO	0x5056	/* any cookie: one terminal */

/* Serialises use of the bounce page; consoles may print with irqs off. */
static DEFINE_RAW_SPINLOCK(pvkit_con_lock);
static u8 pvkit_con_page[PVKIT_HC_MAX_LEN] __aligned(PAGE_SIZE);

static bool pvkit_earlycon_wanted __initdata;

static ssize_t pvkit_con_write(const u8 *buf, size_t count)
{
	size_t done = 0;
	unsigned long flags;

	while (done < count) {
		size_t chunk = min(count - done, sizeof(pvkit_con_page));
		long ret;

		raw_spin_lock_irqsave(&pvkit_con_lock, flags);
		memcpy(pvkit_con_page, buf + done, chunk);
		ret = pvkit_hypercall(PVKIT_HC_CONSOLE_WRITE,
				      __pa_symbol(pvkit_con_page), chunk,
				      0, 0, 0);
		raw_spin_unlock_irqrestore(&pvkit_con_lock, flags);

		/* The host says how much it took; never believe more. */
		if (ret < 0)
			return done ? done : ret;
		if (ret == 0 || ret > chunk)
			break;
		done += ret;
	}
	return done;
}

static ssize_t pvkit_con_read(u8 *buf, size_t count)
{
	unsigned long flags;
	long ret;

	count = min(count, sizeof(pvkit_con_page));
	raw_spin_lock_irqsave(&pvkit_con_lock, flags);
	ret = pvkit_hypercall(PVKIT_HC_CONSOLE_READ,
			      __pa_symbol(pvkit_con_page), count, 0, 0, 0);
	if (ret > 0 && ret <= count)
		memcpy(buf, pvkit_con_page, ret);
	raw_spin_unlock_irqrestore(&pvkit_con_lock, flags);

	if (ret > (long)count)
		return -EIO;
	return ret;
}

static void pvkit_bootcon_write(struct console *con, const char *s,
				unsigned int n)
{
	pvkit_con_write((const u8 *)s, n);
}

static struct console pvkit_bootcon = {
	.name	= "pvkitboot",
	.write	= pvkit_bootcon_write,
	.flags	= CON_PRINTBUFFER | CON_BOOT | CON_ANYTIME,
	.index	= -1,
};

static int __init pvkit_parse_earlycon(char *arg)
{
	pvkit_earlycon_wanted = true;
	return 0;
}
early_param("pvkit_earlycon", pvkit_parse_earlycon);

/**
 * pvkit_earlycon_init() - start the boot console if it was asked for
 *
 * Called once hypercalls work, still in setup_arch(), so everything the
 * kernel printed so far is replayed to the host.
 */
void __init pvkit_earlycon_init(void)
{
	if (pvkit_earlycon_wanted)
		register_console(&pvkit_bootcon);
}

static ssize_t pvkit_hvc_put_chars(u32 vtermno, const u8 *buf, size_t count)
{
	return pvkit_con_write(buf, count);
}

static ssize_t pvkit_hvc_get_chars(u32 vtermno, u8 *buf, size_t count)
{
	return pvkit_con_read(buf, count);
}

static const struct hv_ops pvkit_hvc_ops = {
	.get_chars	= pvkit_hvc_get_chars,
	.put_chars	= pvkit_hvc_put_chars,
};

/* "console=hvc0" needs the console registered before device initcalls. */
static int __init pvkit_hvc_console_init(void)
{
	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_CONSOLE))
		return 0;
	hvc_instantiate(PVKIT_HVC_VTERMNO, 0, &pvkit_hvc_ops);
	return 0;
}
console_initcall(pvkit_hvc_console_init);

/* The tty; with no interrupt line hvc polls get_chars for input. */
static int __init pvkit_hvc_init(void)
{
	struct hvc_struct *hp;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_CONSOLE))
		return 0;
	hp = hvc_alloc(PVKIT_HVC_VTERMNO, 0, &pvkit_hvc_ops, PAGE_SIZE);
	if (IS_ERR(hp)) {
		pr_err("hvc0: registration failed (%ld)\n", PTR_ERR(hp));
		return PTR_ERR(hp);
	}
	return 0;
}
device_initcall(pvkit_hvc_init);
