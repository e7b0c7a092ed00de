#!/usr/bin/python3
"""quiet_run: run one measurement and say how quiet the machine was.

Usage: quiet_run.py CMD [ARG...]

Runs CMD, passes its stdout through and adds "others_cpu_share" to the
last line that is a JSON object: the share of the machine's CPU time
(all cores, from /proc/stat) that processes other than CMD used while it
ran, i.e. the machine's busy time less CMD's own user+system time (its
rusage, children included). The 1-minute load average lags by a minute
and counts the measured process itself; this counts neither.
scripts/bench-train.sh calls a pair quiet when both of its measurements
have others_cpu_share < 0.10. CMD's exit status is passed on.
"""
import json, os, resource, subprocess, sys


def cpu_jiffies():
    """(busy, total) jiffies over all CPUs from /proc/stat's first line."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal  # guest time is inside user
    return busy, busy + idle + iowait


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    hz = os.sysconf("SC_CLK_TCK")
    b0, t0 = cpu_jiffies()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE)
    out, _ = p.communicate()  # waits for CMD: its rusage is now ours
    b1, t1 = cpu_jiffies()
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # CMD is our only child
    own = r.ru_utime + r.ru_stime
    total = max(t1 - t0, 1)
    others = max(0.0, ((b1 - b0) - own * hz) / total)
    lines = out.decode().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        s = lines[i].strip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError:
                continue
            obj["others_cpu_share"] = round(others, 4)
            lines[i] = json.dumps(obj)
            break
    else:
        print(f"quiet_run: {argv[0]} printed no JSON object", file=sys.stderr)
    print("\n".join(lines))
    return p.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
