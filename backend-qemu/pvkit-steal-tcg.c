/*
 * pvkit reference host: steal time's source under TCG
 *
 * With MTTCG every vCPU runs on a host thread of its own, and the host
 * kernel counts how long each thread was ready to run with no CPU to run
 * on: the second field of /proc/self/task/<tid>/schedstat (run delay,
 * ns), the number KVM's steal time comes from too.  A vCPU's steal is
 * that count (pvkit-steal.c turns it into records); whether it is
 * preempted comes from the same file.  Time the thread
 * slept (a halted vCPU, the BQL) is not run delay: only what the host's
 * scheduler took.  The records are brought up to date every
 * PVKIT_STEAL_PERIOD_NS of virtual time, so not while the VM is stopped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "hw/core/cpu.h"
#include "pvkit-internal.h"

/* How stale a record may get: one tick of a HZ=100 guest. */
#define PVKIT_STEAL_PERIOD_NS   (10 * SCALE_MS)

/*
 * @vcpu's thread's time on a CPU and run delay (ns) so far; -1 when the
 * kernel does not say.  The file stays open: the updates read it every
 * period for every vCPU.
 */
static int pvkit_vcpu_schedstat(PVKitState *s, uint32_t vcpu,
                                uint64_t *on_cpu, uint64_t *delay)
{
    CPUState *cs = cpu_by_arch_id(vcpu);
    char path[64], buf[128];
    unsigned long long ran, waited;
    ssize_t n;

    if (!cs || !cs->created || vcpu >= PVKIT_MAX_VCPUS) {
        return -1;
    }
    if (!s->schedstat_fd[vcpu]) {
        int fd;

        snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat",
                 cs->thread_id);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return -1;
        }
        s->schedstat_fd[vcpu] = fd + 1;
    }
    n = pread(s->schedstat_fd[vcpu] - 1, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &ran, &waited) != 2) {
        return -1;
    }
    *on_cpu = ran;
    *delay = waited;
    return 0;
}

int pvkit_steal_run_delay(void *opaque, uint32_t vcpu, uint64_t *ns)
{
    uint64_t on_cpu;

    return pvkit_vcpu_schedstat(opaque, vcpu, &on_cpu, ns);
}

/*
 * Preempted: held by the host, or, since the last look, a vCPU with work
 * (not halted) whose thread waited for a CPU longer than it ran.  The
 * host kernel adds to the run delay when the wait ends, so this says
 * what mostly happened over the last period, not what happens now.
 */
bool pvkit_steal_preempted(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;
    CPUState *cs = cpu_by_arch_id(vcpu);
    uint64_t on_cpu, delay, ran, waited;

    if (pvkit_vcpu_held(s, vcpu)) {
        return true;
    }
    if (!cs || pvkit_vcpu_schedstat(s, vcpu, &on_cpu, &delay)) {
        return false;
    }
    ran = on_cpu - s->seen_on_cpu[vcpu];
    waited = delay - s->seen_delay[vcpu];
    s->seen_on_cpu[vcpu] = on_cpu;
    s->seen_delay[vcpu] = delay;
    return !cs->halted && waited > ran;
}

/* Can the host tell the vCPUs' waits apart (a thread per vCPU)? */
bool pvkit_steal_available(void)
{
    return qemu_tcg_mttcg_enabled() &&
           access("/proc/self/schedstat", R_OK) == 0;
}

static void pvkit_steal_tick(void *opaque)
{
    PVKitState *s = opaque;

    if (pvkit_steal_update_all(&pvkit_host_ops, s)) {
        timer_mod(s->steal_timer,
                  qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  PVKIT_STEAL_PERIOD_NS);
    }
}

void pvkit_steal_init(PVKitState *s)
{
    s->steal_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, pvkit_steal_tick, s);
}

/* A record was registered: make sure the updates run. */
void pvkit_steal_kick(PVKitState *s)
{
    if (s->steal_timer && !timer_pending(s->steal_timer)) {
        timer_mod(s->steal_timer,
                  qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  PVKIT_STEAL_PERIOD_NS);
    }
}

void pvkit_steal_fini(PVKitState *s)
{
    uint32_t v;

    if (s->steal_timer) {
        timer_free(s->steal_timer);
        s->steal_timer = NULL;
    }
    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (s->schedstat_fd[v]) {
            close(s->schedstat_fd[v] - 1);
            s->schedstat_fd[v] = 0;
        }
    }
}
