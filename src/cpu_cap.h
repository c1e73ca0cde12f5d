/* Capping each instance's CPU to its class clock (RT12), with the kernel's
 * cgroup cpu controller where this server may use it: cgroup v2 (cpu.max)
 * or v1 (cpu.cfs_quota_us). The server makes a cgroup of its own under the
 * one it runs in ("gaelic-PID-START-NS", cgroup_tree.h) and one child per
 * instance process ("pid-N") limited to class MHz / host MHz of a CPU, so an instance can
 * execute no more cycles per second than its class's processor would.
 *
 * That needs write access to the cgroup tree (root, or a delegated
 * subtree); without it cpu_cap_open says why and the caller only accounts
 * CPU. Opened and closed in the master's event loop; in between, only the
 * cgroup mover's thread (cgroup_mover.h) adds and releases. */
#ifndef GAELIC_CPU_CAP_H
#define GAELIC_CPU_CAP_H

#include <stddef.h>
#include <sys/types.h>

typedef struct cpu_cap cpu_cap_t;

/* NULL when capping is not possible here, with the reason in why. */
cpu_cap_t *cpu_cap_open(char *why, size_t n);

/* "cgroup v1 cpu at /sys/fs/cgroup/cpu/gaelic-12-3456" */
const char *cpu_cap_where(const cpu_cap_t *c);
/* The host CPU's clock in MHz (cpu_cap_clock_mhz). */
int cpu_cap_host_mhz(const cpu_cap_t *c);
/* The clock of the host whose / is root ("" for this one): cpu0's
 * nominal cpufreq clock, else its highest, else /proc/cpuinfo's "cpu MHz"
 * (a host without cpufreq, a VM); 0 when none says. */
int cpu_cap_clock_mhz(const char *root);

/* Moves process pid into a new cgroup limited to mhz worth of CPU time.
 * Returns 0, or -1 with errno set. */
int cpu_cap_add(cpu_cap_t *c, pid_t pid, int mhz);
/* Process pid has exited: its cgroup is removed (now or, if the kernel
 * still counts it, at a later cpu_cap_release, cpu_cap_retry_removals or
 * cpu_cap_close). */
void cpu_cap_release(cpu_cap_t *c, pid_t pid);
/* Tries again to remove the cgroups the kernel still counted a process
 * in; how many are still left. */
int cpu_cap_retry_removals(cpu_cap_t *c);
/* Removes every cgroup made here. c may be NULL. */
void cpu_cap_close(cpu_cap_t *c);

#endif
