// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit platform: detect the hypervisor and bring up its interface.
 *
 * Detection looks for the kit's CPUID signature; without it the kernel
 * stays an ordinary guest and none of the kit's code runs.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/cache.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/reboot.h>
#include <asm/cpuid.h>
#include <asm/hypervisor.h>
#include <asm/pvkit.h>

static u32 pvkit_base __ro_after_init;
static u32 pvkit_abi __ro_after_init;
static u64 pvkit_feature_bits __ro_after_init;
static bool pvkit_ready __ro_after_init;

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

/* The base leaf doubles as the priority among detected hypervisors. */
static u32 __init pvkit_detect(void)
{
	pvkit_base = hypervisor_cpuid_base(PVKIT_CPUID_SIGNATURE,
					   PVKIT_CPUID_INFO);
	return pvkit_base;
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
	if (pvkit_feature_bits & PVKIT_F_EVTCHN)
		pvkit_events_init_platform();
	if (IS_ENABLED(CONFIG_HVC_PVKIT) && (pvkit_feature_bits & PVKIT_F_CONSOLE))
		pvkit_earlycon_init();
}

/*
 * Before kexec (and at reboot or power-off) the host must stop writing
 * into this kernel's memory: event bits, grant flags.  The next kernel
 * starts over.
 */
static int pvkit_reboot(struct notifier_block *nb, unsigned long action,
			void *data)
{
	pvkit_events_shutdown();
	pvkit_gnttab_shutdown();
	return NOTIFY_DONE;
}

static struct notifier_block pvkit_reboot_nb = {
	.notifier_call	= pvkit_reboot,
};

static int __init pvkit_reboot_init(void)
{
	return pvkit_ready ? register_reboot_notifier(&pvkit_reboot_nb) : 0;
}
device_initcall(pvkit_reboot_init);

const __initconst struct hypervisor_x86 x86_hyper_pvkit = {
	.name			= "pvkit",
	.detect			= pvkit_detect,
	.type			= X86_HYPER_PVKIT,
	.init.init_platform	= pvkit_init_platform,
};
