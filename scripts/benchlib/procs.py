"""Resident memory of a process tree, from /proc (Linux)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional


def _status(pid: int) -> Dict[str, str]:
    out: Dict[str, str] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = value.strip()
    except OSError:
        pass
    return out


def _kb(value: Optional[str]) -> Optional[int]:
    if not value:
        return None
    return int(value.split()[0])


def cmdline(pid: int) -> List[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def children(pid: int) -> List[int]:
    """Direct children, by scanning every process's parent id."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent id; the command name (field 2) may contain spaces.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def role(argv: List[str], depth: int) -> str:
    text = " ".join(argv)
    if "rasa" in text and " run actions" in text:
        return "action server"
    if "bot.service" in text:
        return "agent API"
    if "bot.runtime.launcher" in text:
        return "launcher"
    if "multiprocessing" in text and "resource_tracker" in text:
        return "multiprocessing helper"
    if "rasa" in text and " run" in text:
        return "Rasa server" if depth <= 1 else "Rasa server (worker)"
    if "redis-server" in text:
        return "redis-server"
    return (argv[0].rsplit("/", 1)[-1] if argv else "?")


def tree(root: int, depth: int = 0, limit: int = 64) -> List[Dict[str, object]]:
    """The process and its descendants: pid, role, VmRSS and VmHWM (peak) in MB."""
    status = _status(root)
    if not status:
        return []
    argv = cmdline(root)
    rss, hwm = _kb(status.get("VmRSS")), _kb(status.get("VmHWM"))
    rows: List[Dict[str, object]] = [{
        "pid": root, "depth": depth, "role": role(argv, depth),
        "cmd": " ".join(argv)[:160],
        "rss_mb": round(rss / 1024, 1) if rss is not None else None,
        "peak_rss_mb": round(hwm / 1024, 1) if hwm is not None else None,
    }]
    if depth < 4:
        for child in children(root)[:limit]:
            rows.extend(tree(child, depth + 1, limit))
    return rows


# ---- CPU accounting: is somebody else using the machine while we measure? -------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _busy_jiffies() -> int:
    """All CPUs' time in user and system mode since boot, in clock ticks (interrupt time
    is left out: loopback networking of the load itself lands there)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system = (int(v) for v in fields[:3])
    return user + nice + system


def _proc_jiffies(pid: int) -> int:
    """utime + stime of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0
    # After the command name: fields[11], fields[12] are utime, stime.
    return int(fields[11]) + int(fields[12])


def _all_jiffies() -> Dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            out[int(entry)] = _proc_jiffies(int(entry))
    return out


class CPUWatch:
    """CPU used during a phase by the system under test, by this load generator, and by
    everything else on the machine (other engineers' tests): 'other' above ~0.3 cores
    means the measurement may be disturbed and should be repeated; the busiest foreign
    processes are named."""

    def __init__(self, roots: List[int]) -> None:
        self.roots = roots

    def _ours(self) -> set:
        pids = {os.getpid()}
        for root in self.roots:
            pids.update(int(row["pid"]) for row in tree(root))
        return pids

    def __enter__(self) -> "CPUWatch":
        import time

        self._t0 = time.monotonic()
        self._busy0 = _busy_jiffies()
        self._all0 = _all_jiffies()
        return self

    def __exit__(self, *_: object) -> None:
        import time

        seconds = max(time.monotonic() - self._t0, 1e-6)
        busy = _busy_jiffies() - self._busy0
        now = _all_jiffies()
        ours = self._ours()
        delta = {pid: v - self._all0.get(pid, 0) for pid, v in now.items()}
        sut = sum(delta.get(pid, 0) for pid in ours if pid != os.getpid())
        client = delta.get(os.getpid(), 0)
        foreign = sorted(((d, pid) for pid, d in delta.items() if pid not in ours and d >= 0.01 * CLK_TCK * seconds), reverse=True)[:3]
        per_core = CLK_TCK * seconds
        self.result = {
            "seconds": round(seconds, 1),
            "machine_busy_cores": round(busy / per_core, 2),
            "system_under_test_cores": round(sut / per_core, 2),
            "load_generator_cores": round(client / per_core, 2),
            "other_cores": round(max(busy - sut - client, 0) / per_core, 2),
            "busiest_other": [{"pid": pid, "cores": round(d / per_core, 2), "cmd": " ".join(cmdline(pid))[:100]}
                              for d, pid in foreign],
        }
