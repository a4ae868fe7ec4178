/*
 * pvkit reference host: steal time's source under TCG
 *
 * With MTTCG every vCPU runs on a host thread of its own, and the host
 * kernel counts how long each thread was ready to run with no CPU to run
 * on: the second field of /proc/self/task/<tid>/schedstat (run delay,
 * ns), the number KVM's steal time comes from too.  A vCPU's steal is
 * that count (pvkit-steal.c turns it into records).  Time the thread
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

/* Run delay of @tid into @ns; -1 when the kernel does not say. */
static int pvkit_thread_run_delay(int tid, uint64_t *ns)
{
    char path[64], buf[128];
    unsigned long long on_cpu, delay;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &on_cpu, &delay) != 2) {
        return -1;
    }
    *ns = delay;
    return 0;
}

int pvkit_steal_run_delay(void *opaque, uint32_t vcpu, uint64_t *ns)
{
    CPUState *cs = cpu_by_arch_id(vcpu);

    if (!cs || !cs->created) {
        return -1;
    }
    return pvkit_thread_run_delay(cs->thread_id, ns);
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
    if (s->steal_timer) {
        timer_free(s->steal_timer);
        s->steal_timer = NULL;
    }
}
