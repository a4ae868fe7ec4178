// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit platform: detect the hypervisor and bring up its interface.
 *
 * Detection looks for the kit's CPUID signature; without it the kernel
 * stays an ordinary guest and none of the kit's code runs.
 *
 * Next to KVM the kit does not claim the platform.  A host may offer the
 * kit's leaves together with KVM's (QEMU with -device pvkit under KVM):
 * KVM's clock, steal time, PV EOI, PV TLB flush, PV spinlocks and async
 * page faults then matter more than anything the kit has (it has no
 * clock), and the platform hooks only ever start the winner's.  So when
 * KVM's signature is present the kit lets KVM win and layers its own
 * services on top: hypercalls, console and the event-channel vector are
 * set up from x86_init.hyper.init_after_bootmem (KVM leaves it unset; it
 * runs before the IDT is sealed), and events, grants, the store and the
 * bus come up from their initcalls as usual.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/cache.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/printk.h>
#include <linux/pvkit_gnttab.h>
#include <linux/smp.h>
#include <linux/syscore_ops.h>
#include <asm/cpuid.h>
#include <asm/hypervisor.h>
#include <asm/kvm_para.h>
#include <asm/pvkit.h>
#include <asm/reboot.h>
#include <asm/x86_init.h>

static u32 pvkit_base __ro_after_init;
static u32 pvkit_abi __ro_after_init;
static u64 pvkit_feature_bits __ro_after_init;
static bool pvkit_ready __ro_after_init;
static bool pvkit_layered __ro_after_init;
static bool pvkit_force_layered __initdata;

/**
 * pvkit_available() - may the pvkit hypercalls be used?
 *
 * Return: true when the kernel runs on a pvkit host whose ABI it speaks
 * and the hypercall page was installed.
 */
bool pvkit_available(void)
{
	return pvkit_ready;
}
EXPORT_SYMBOL_GPL(pvkit_available);

/**
 * pvkit_abi_version() - ABI version the host announced in CPUID
 *
 * Return: (major << 16) | minor, or 0 when not on a pvkit host.
 */
u32 pvkit_abi_version(void)
{
	return pvkit_abi;
}
EXPORT_SYMBOL_GPL(pvkit_abi_version);

/**
 * pvkit_features() - PVKIT_F_* bits the host announced in CPUID
 *
 * Return: the feature bits, or 0 when not on a pvkit host.
 */
u64 pvkit_features(void)
{
	return pvkit_feature_bits;
}
EXPORT_SYMBOL_GPL(pvkit_features);

/**
 * pvkit_cpuid_base() - first CPUID leaf of the pvkit interface
 *
 * Return: the base leaf, or 0 when not on a pvkit host.
 */
u32 pvkit_cpuid_base(void)
{
	return pvkit_base;
}
EXPORT_SYMBOL_GPL(pvkit_cpuid_base);

/**
 * pvkit_is_layered() - does the kit run on top of another platform?
 *
 * Return: true when the kit found KVM's leaves too (or was told to act as
 * if, with "pvkit_layered") and left the x86 platform to it.
 */
bool pvkit_is_layered(void)
{
	return pvkit_layered;
}
EXPORT_SYMBOL_GPL(pvkit_is_layered);

/*
 * "pvkit_layered" on the command line: take the layered path as if KVM
 * were there too, so that it can be tested where KVM is not.
 */
static int __init pvkit_parse_layered(char *arg)
{
	pvkit_force_layered = true;
	return 0;
}
early_param("pvkit_layered", pvkit_parse_layered);

static void __init pvkit_init_platform(void);

static void __init pvkit_init_layered(void)
{
	pr_info("%s: the kit runs on top of it, not as the platform\n",
		pvkit_force_layered ? "pvkit_layered" : "KVM found");
	pvkit_init_platform();
}

/*
 * Claim the platform (the base leaf doubles as the priority among
 * detected hypervisors), or leave it to KVM.  Both bases are found
 * wherever they are in 0x40000000-0x4000ff00, 0x100 apart, because
 * hypervisor_cpuid_base() scans the range: Hyper-V's leaves push KVM's
 * to 0x40000100 and the kit's further up.
 */
static u32 __init pvkit_detect(void)
{
	pvkit_base = hypervisor_cpuid_base(PVKIT_CPUID_SIGNATURE,
					   PVKIT_CPUID_INFO);
	if (!pvkit_base)
		return 0;
	if (!hypervisor_cpuid_base(KVM_SIGNATURE, 0) && !pvkit_force_layered)
		return pvkit_base;
	/*
	 * The winner's non-NULL hooks are copied over x86_init.hyper after
	 * every detect() ran: KVM has no init_after_bootmem, so this stays.
	 */
	pvkit_layered = true;
	x86_init.hyper.init_after_bootmem = pvkit_init_layered;
	return 0;
}

#ifdef CONFIG_SMP
static void (*pvkit_native_prepare_boot_cpu)(void) __initdata;

/* The lock hash needs the allocators up: later than the platform setup. */
static void __init pvkit_smp_prepare_boot_cpu(void)
{
	pvkit_native_prepare_boot_cpu();
	pvkit_spin_init();
}
#endif

/*
 * The CPU and time operations (SPEC sections 13-16), each behind its own
 * feature bit and boot parameter.  Here, before the paravirt call sites
 * are patched (arch_cpu_finalize_init()).
 */
static void __init pvkit_init_cpu_ops(void)
{
	pvkit_clock_init();
	pvkit_steal_init_platform();
	pvkit_tlb_init();
#ifdef CONFIG_SMP
	pvkit_native_prepare_boot_cpu = smp_ops.smp_prepare_boot_cpu;
	smp_ops.smp_prepare_boot_cpu = pvkit_smp_prepare_boot_cpu;
#endif
}

static void __init pvkit_init_platform(void)
{
	u32 eax, ebx, ecx, edx;

	cpuid(pvkit_base + PVKIT_CPUID_INFO, &eax, &ebx, &ecx, &edx);
	pvkit_abi = eax;
	pvkit_feature_bits = ((u64)ecx << 32) | ebx;
	pr_info("detected hypervisor at CPUID %#x: ABI %u.%u, features %#llx\n",
		pvkit_base, eax >> 16, eax & 0xffff, pvkit_feature_bits);

	if (eax >> 16 != PVKIT_ABI_MAJOR) {
		pr_err("ABI major %u unsupported, running as an ordinary guest\n",
		       eax >> 16);
		return;
	}
	if (!(pvkit_feature_bits & PVKIT_F_HYPERCALL_PAGE) ||
	    edx != PVKIT_MSR_HYPERCALL_PAGE) {
		pr_err("host offers no hypercall page, running as an ordinary guest\n");
		return;
	}
	if (pvkit_hypercall_init())
		return;

	pvkit_ready = true;
	/* Layered, KVM's clock, steal time, spinlocks and TLB flush serve. */
	if (!pvkit_layered)
		pvkit_init_cpu_ops();
	if (pvkit_feature_bits & PVKIT_F_EVTCHN)
		pvkit_events_init_platform();
	if (IS_ENABLED(CONFIG_HVC_PVKIT) && (pvkit_feature_bits & PVKIT_F_CONSOLE))
		pvkit_earlycon_init();
}

/*
 * Before kexec (and at reboot or power-off) the host must stop writing
 * into this kernel's memory: event bits, grant flags.  The next kernel
 * starts over.  This runs from syscore_shutdown(), after
 * device_shutdown(): the bus has closed its devices by then (which needs
 * events, grants and the store), and the backends have let go of the
 * grants.  A host that refuses is logged; nothing else can be done.
 */
static void pvkit_syscore_shutdown(void *data)
{
	pvkit_events_shutdown();
	pvkit_gnttab_shutdown();
	pvkit_clock_shutdown();
	pvkit_steal_shutdown();
}

/*
 * Suspend to RAM keeps the kit: the host holds its state across the
 * wakeup (SPEC section 6).  But a suspend may also end in another
 * kernel's memory (hibernation: the boot kernel suspends, the image
 * kernel resumes), so the clock and steal records, which the host
 * rewrites on its own, are given back here and registered again on
 * resume, by the kernel that resumes.
 */
static int pvkit_syscore_suspend(void *data)
{
	pvkit_clock_shutdown();
	pvkit_steal_shutdown();
	return 0;
}

/* Also raises an upcall the APIC's reset dropped. */
static void pvkit_syscore_resume(void *data)
{
	pvkit_clock_resume();
	pvkit_steal_resume();
	pvkit_events_resume();
}

static const struct syscore_ops pvkit_syscore_ops = {
	.suspend	= pvkit_syscore_suspend,
	.resume		= pvkit_syscore_resume,
	.shutdown	= pvkit_syscore_shutdown,
};

static struct syscore pvkit_syscore = {
	.ops	= &pvkit_syscore_ops,
};

#ifdef CONFIG_CRASH_DUMP
static void (*pvkit_next_crash_shutdown)(struct pt_regs *regs) __ro_after_init;

/*
 * A crash kexec runs no device_shutdown() and no syscore_shutdown(): the
 * crash kernel lives in memory of its own, but the host would go on
 * raising the upcall vector, which it has no handler for.  Detach events,
 * the clock and steal records (the dump reads this memory; the host
 * would go on writing them) and the store once the other CPUs are
 * stopped.  Grants
 * are left:
 * backends may still map them, and the crash kernel does not use those
 * frames.
 */
static void pvkit_crash_shutdown(struct pt_regs *regs)
{
	pvkit_next_crash_shutdown(regs);
	pvkit_events_shutdown();
	pvkit_clock_shutdown();
	pvkit_steal_shutdown();
	/*
	 * The store too: the host would go on writing into the ring page,
	 * and refuse the crash kernel's own STORE_SETUP while it is set
	 * up.  Harmless when the store was never connected.
	 */
	pvkit_hypercall(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0);
}
#endif

static int __init pvkit_shutdown_init(void)
{
	if (!pvkit_ready)
		return 0;
	register_syscore(&pvkit_syscore);
#ifdef CONFIG_CRASH_DUMP
	pvkit_next_crash_shutdown = machine_ops.crash_shutdown;
	machine_ops.crash_shutdown = pvkit_crash_shutdown;
#endif
	return 0;
}
device_initcall(pvkit_shutdown_init);

const __initconst struct hypervisor_x86 x86_hyper_pvkit = {
	.name			= "pvkit",
	.detect			= pvkit_detect,
	.type			= X86_HYPER_PVKIT,
	.init.init_platform	= pvkit_init_platform,
};
