// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit hypercalls.
 *
 * Xen lets the hypervisor write machine code into a guest page and then
 * calls into it.  Code written by someone else escapes everything the
 * kernel promises about its own text: return thunks, IBT landing pads,
 * retpolines, objtool's checks.  The pvkit hypercall page is therefore
 * only ever read.  The host describes, per hypercall, which transport to
 * use; the kernel keeps its own, compiled, copy of each transport's
 * instruction sequence and picks one with a direct branch.  The page
 * lives in init memory and is detached once it has been read, so the
 * host never writes to guest memory through it again.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/cache.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/nospec.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/percpu.h>
#include <asm/msr.h>
#include <asm/page.h>
#include <asm/pvkit.h>

/* Read once at boot from the hypercall page, never changed after. */
static struct {
	u16 transport;
	u16 port;
} pvkit_hcall[PVKIT_HC_COUNT] __ro_after_init;

static bool pvkit_hcall_ready __ro_after_init;

/* Port of the first PIO entry, for numbers the page does not describe. */
static u16 pvkit_fallback_port __ro_after_init;

static u8 pvkit_hcall_page[PAGE_SIZE] __initdata __aligned(PAGE_SIZE);

/* Hypercalls issued (each one host transition), for benchmarks. */
static DEFINE_PER_CPU(unsigned long, pvkit_hcall_calls);

/*
 * PVKIT_TRANSPORT_PIO: the hypercall number travels as the OUT value,
 * arguments in the registers the ABI names, the result in rax.  The host
 * changes nothing but rax; "memory" because it may read or write guest
 * memory named by the arguments.
 */
static __always_inline long pvkit_pio_call(u16 port, unsigned int nr,
					   unsigned long a0, unsigned long a1,
					   unsigned long a2, unsigned long a3,
					   unsigned long a4)
{
	register unsigned long r10 asm("r10") = a2;
	register unsigned long r8 asm("r8") = a3;
	register unsigned long r9 asm("r9") = a4;
	unsigned long ret = nr;

	asm volatile("outl %%eax, %%dx"
		     : "+a" (ret)
		     : "d" (port), "D" (a0), "S" (a1),
		       "r" (r10), "r" (r8), "r" (r9)
		     : "memory");
	return (long)ret;
}

/**
 * pvkit_hypercall() - issue a hypercall described by the hypercall page
 * @nr: hypercall number (enum pvkit_hypercall)
 * @a0: first argument
 * @a1: second argument
 * @a2: third argument
 * @a3: fourth argument
 * @a4: fifth argument
 *
 * Context: any context; the transports do not sleep.
 * Return: the host's result, or -EOPNOTSUPP when the host did not offer @nr.
 * Negative results are errno values; callers must still treat other
 * values as untrusted input.
 */
long pvkit_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		     unsigned long a2, unsigned long a3, unsigned long a4)
{
	if (nr >= PVKIT_HC_COUNT || !pvkit_hcall_ready)
		return -EOPNOTSUPP;
	/* nr may come from user space (the test device). */
	nr = array_index_nospec(nr, PVKIT_HC_COUNT);
	/* One instruction, safe in any context, NMI included. */
	this_cpu_inc(pvkit_hcall_calls);

	switch (pvkit_hcall[nr].transport) {
	case PVKIT_TRANSPORT_PIO:
		return pvkit_pio_call(pvkit_hcall[nr].port, nr,
				      a0, a1, a2, a3, a4);
	default:
		return -EOPNOTSUPP;
	}
}
EXPORT_SYMBOL_GPL(pvkit_hypercall);

/**
 * pvkit_hypercall_untabled() - issue a number the page may not describe
 * @nr: any hypercall number
 * @a0: first argument
 * @a1: second argument
 * @a2: third argument
 * @a3: fourth argument
 * @a4: fifth argument
 *
 * Sends @nr over the first PIO transport the host offered, whether or not
 * the host described @nr, so tests can check the host's answer to numbers
 * it does not know.  Not for drivers: use pvkit_hypercall().
 *
 * Return: the host's result, or -EOPNOTSUPP without a PIO transport.
 */
long pvkit_hypercall_untabled(unsigned int nr, unsigned long a0,
			      unsigned long a1, unsigned long a2,
			      unsigned long a3, unsigned long a4)
{
	if (!pvkit_hcall_ready || !pvkit_fallback_port)
		return -EOPNOTSUPP;
	return pvkit_pio_call(pvkit_fallback_port, nr, a0, a1, a2, a3, a4);
}
EXPORT_SYMBOL_NS_GPL(pvkit_hypercall_untabled, PVKIT_TEST);

/* Hypercalls issued so far through pvkit_hypercall(), on all CPUs. */
unsigned long pvkit_hypercalls_made(void)
{
	return pvkit_percpu_sum(&pvkit_hcall_calls);
}

/*
 * Check what the host wrote before believing any of it.  Returns the
 * number of hypercalls this kernel can now issue, or a negative errno.
 */
static int __init pvkit_parse_hcall_page(const struct pvkit_hcall_page *page)
{
	unsigned int i, n, usable = 0;

	if (page->magic != PVKIT_HCALL_PAGE_MAGIC) {
		pr_err("hypercall page: bad magic %#x\n", page->magic);
		return -EINVAL;
	}
	if (page->abi_version >> 16 != PVKIT_ABI_MAJOR) {
		pr_err("hypercall page: ABI %u.%u, this kernel speaks %u.x\n",
		       page->abi_version >> 16, page->abi_version & 0xffff,
		       PVKIT_ABI_MAJOR);
		return -EINVAL;
	}
	if (page->entry_size != sizeof(struct pvkit_hcall_entry) ||
	    page->nr_entries > PVKIT_HCALL_PAGE_MAX_ENTRIES) {
		pr_err("hypercall page: bad geometry (%u entries of %u bytes)\n",
		       page->nr_entries, page->entry_size);
		return -EINVAL;
	}

	n = min_t(unsigned int, page->nr_entries, PVKIT_HC_COUNT);
	for (i = 0; i < n; i++) {
		const struct pvkit_hcall_entry *e = &page->entry[i];

		if (e->nr != i || e->transport != PVKIT_TRANSPORT_PIO)
			continue;
		pvkit_hcall[i].transport = e->transport;
		pvkit_hcall[i].port = e->port;
		usable++;
		if (!pvkit_fallback_port)
			pvkit_fallback_port = e->port;
	}
	if (!pvkit_fallback_port) {
		pr_err("hypercall page: no transport this kernel knows\n");
		return -EINVAL;
	}
	return usable;
}

/**
 * pvkit_hypercall_init() - obtain, check and detach the hypercall page
 *
 * Runs on the boot CPU from init_platform, before memblock is usable,
 * which is why the page is a static buffer.
 *
 * Return: 0 when hypercalls are ready, a negative errno otherwise.
 */
int __init pvkit_hypercall_init(void)
{
	u64 gpa = __pa_symbol(pvkit_hcall_page);
	int ret;

	if (wrmsrl_safe(PVKIT_MSR_HYPERCALL_PAGE,
			gpa | PVKIT_HCALL_PAGE_ENABLE)) {
		pr_err("host refused the hypercall page at %#llx\n", gpa);
		return -EIO;
	}
	ret = pvkit_parse_hcall_page((void *)pvkit_hcall_page);

	/*
	 * The page is init memory, freed after boot: a host that will not
	 * stop writing to it must not be used at all.
	 */
	if (wrmsrl_safe(PVKIT_MSR_HYPERCALL_PAGE, 0)) {
		pr_err("host refused to detach the hypercall page\n");
		return -EIO;
	}
	if (ret < 0)
		return ret;

	pvkit_hcall_ready = true;
	pr_info("hypercall page installed at %#llx: %d of %u hypercalls, port %#x\n",
		gpa, ret, PVKIT_HC_COUNT, pvkit_fallback_port);
	return 0;
}
