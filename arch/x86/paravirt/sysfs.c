// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/hypervisor for pvkit guests:
 *
 *   type			"pvkit"
 *   pvkit/abi_version	"<major>.<minor>" announced by the host
 *   pvkit/features		PVKIT_F_* bits, hexadecimal
 *   pvkit/cpuid_base	first CPUID leaf of the interface, hexadecimal
 *   pvkit/hypercalls	"1" when the hypercall page was installed
 *   pvkit/layered		"1" when the kit runs on top of KVM, which
 *				is then the x86 platform (pvkit.c)
 *   pvkit/vcpu_areas	online CPUs whose event state is in their own
 *				registered area, not the shared-info page
 *   pvkit/clock, steal,	"on" (the clock: "pvkit-clock") when the
 *   spinlocks, tlb_flush	mechanism is active, else "off: <why>"
 *   pvkit/preempted		CPUs the host last said it keeps off a CPU
 *   pvkit/spin_waits,		SPIN_WAIT calls, those that parked the
 *   spin_parks, spin_kicks	vCPU, SPIN_KICK calls
 *   pvkit/tlb_flushes		TLB_FLUSH calls
 *   pvkit/ipi_set_sends	VCPU_SEND_IPI calls (call-function IPIs)
 *   pvkit/hypercalls_made	hypercalls issued (each a host transition)
 *
 * "type" is "pvkit" when layered too: the files describe the kit.
 */

#include <linux/cpumask.h>
#include <linux/init.h>
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <asm/hypervisor.h>
#include <asm/pvkit.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>

static ssize_t type_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "pvkit\n");
}

static struct kobj_attribute type_attr = __ATTR_RO(type);

static ssize_t abi_version_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	u32 v = pvkit_abi_version();

	return sysfs_emit(buf, "%u.%u\n", v >> 16, v & 0xffff);
}

static struct kobj_attribute abi_version_attr = __ATTR_RO(abi_version);

static ssize_t features_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%#llx\n", pvkit_features());
}

static struct kobj_attribute features_attr = __ATTR_RO(features);

static ssize_t cpuid_base_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%#x\n", pvkit_cpuid_base());
}

static struct kobj_attribute cpuid_base_attr = __ATTR_RO(cpuid_base);

static ssize_t hypercalls_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", pvkit_available());
}

static struct kobj_attribute hypercalls_attr = __ATTR_RO(hypercalls);

static ssize_t layered_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", pvkit_is_layered());
}

static struct kobj_attribute layered_attr = __ATTR_RO(layered);

static ssize_t vcpu_areas_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvkit_events_vcpu_areas());
}

static struct kobj_attribute vcpu_areas_attr = __ATTR_RO(vcpu_areas);

/*
 * The CPU and time operations: "on" ("pvkit-clock" for the clock) when
 * the mechanism is active, else "off: <why>".
 */
#define PVKIT_STATE_ATTR(name, fn)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%s\n", fn());				\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

PVKIT_STATE_ATTR(clock, pvkit_clock_state);
PVKIT_STATE_ATTR(steal, pvkit_steal_state);
PVKIT_STATE_ATTR(spinlocks, pvkit_spin_state);
PVKIT_STATE_ATTR(tlb_flush, pvkit_tlb_state);

static ssize_t preempted_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	cpumask_var_t mask;
	ssize_t ret;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	pvkit_steal_preempted_cpus(mask);
	ret = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
	free_cpumask_var(mask);
	return ret;
}

static struct kobj_attribute preempted_attr = __ATTR_RO(preempted);

#define PVKIT_COUNTER_ATTR(name, fn)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lu\n", (unsigned long)fn());		\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

PVKIT_COUNTER_ATTR(spin_waits, pvkit_spin_waits_total);
PVKIT_COUNTER_ATTR(spin_parks, pvkit_spin_parks_total);
PVKIT_COUNTER_ATTR(spin_kicks, pvkit_spin_kicks_total);
PVKIT_COUNTER_ATTR(tlb_flushes, pvkit_tlb_flushes);
PVKIT_COUNTER_ATTR(ipi_set_sends, pvkit_ipi_set_sends);
PVKIT_COUNTER_ATTR(hypercalls_made, pvkit_hypercalls_made);

/* Grants not yet revoked: a frontend that leaks shows up here. */
static ssize_t grants_in_use_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvkit_gnttab_in_use());
}

static struct kobj_attribute grants_in_use_attr = __ATTR_RO(grants_in_use);

static struct attribute *pvkit_attrs[] = {
	&abi_version_attr.attr,
	&features_attr.attr,
	&cpuid_base_attr.attr,
	&hypercalls_attr.attr,
	&layered_attr.attr,
	&vcpu_areas_attr.attr,
	&clock_attr.attr,
	&steal_attr.attr,
	&spinlocks_attr.attr,
	&tlb_flush_attr.attr,
	&preempted_attr.attr,
	&spin_waits_attr.attr,
	&spin_parks_attr.attr,
	&spin_kicks_attr.attr,
	&tlb_flushes_attr.attr,
	&ipi_set_sends_attr.attr,
	&hypercalls_made_attr.attr,
	&grants_in_use_attr.attr,
	NULL,
};

static const struct attribute_group pvkit_group = {
	.name	= "pvkit",
	.attrs	= pvkit_attrs,
};

static int __init pvkit_sysfs_init(void)
{
	int ret;

	if (!hypervisor_is_type(X86_HYPER_PVKIT) && !pvkit_is_layered())
		return 0;

	ret = sysfs_create_file(hypervisor_kobj, &type_attr.attr);
	if (ret)
		return ret;
	ret = sysfs_create_group(hypervisor_kobj, &pvkit_group);
	if (ret)
		sysfs_remove_file(hypervisor_kobj, &type_attr.attr);
	return ret;
}
device_initcall(pvkit_sysfs_init);
