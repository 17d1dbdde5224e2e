//! How much CPU the whole machine spent during a benchmark's timed part.
//!
//! The benchmarks run their clients, the server and the database on the
//! same two cores, so "how many microseconds of CPU does one operation
//! cost, everything included" says more about the ceiling than any single
//! process's profile. Linux's `/proc/stat` counts busy and idle time for
//! all CPUs; elsewhere the numbers are simply not printed.

use std::time::Duration;

/// A reading of the machine's CPU time counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time spent running anything (user, nice, system, irq, softirq, steal).
    busy_ticks: u64,
    /// Time spent idle or waiting for I/O.
    idle_ticks: u64,
}

/// What a timed part cost the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUse {
    /// CPU time per operation, all processes together.
    pub per_operation: Duration,
    /// Share of all CPUs that was busy, 0.0 to 1.0.
    pub busy_share: f64,
}

/// Clock ticks per second of `/proc/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

impl CpuTimes {
    /// Reads `/proc/stat` now; `None` where it does not exist.
    pub fn now() -> Option<CpuTimes> {
        CpuTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The aggregate `cpu` line: user nice system idle iowait irq softirq steal …
    fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|line| line.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        let idle_ticks = at(3) + at(4);
        let busy_ticks = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
        Some(CpuTimes {
            busy_ticks,
            idle_ticks,
        })
    }

    /// The CPU used from `self` to `later` by `operations` operations.
    pub fn used_until(self, later: CpuTimes, operations: u64) -> Option<CpuUse> {
        let busy = later.busy_ticks.checked_sub(self.busy_ticks)?;
        let idle = later.idle_ticks.checked_sub(self.idle_ticks)?;
        if operations == 0 || busy + idle == 0 {
            return None;
        }
        let busy_micros = busy * 1_000_000 / TICKS_PER_SECOND;
        Some(CpuUse {
            per_operation: Duration::from_micros(busy_micros / operations),
            busy_share: busy as f64 / (busy + idle) as f64,
        })
    }
}

/// One line for a benchmark's report, if the machine could be read.
pub fn describe(used: Option<CpuUse>, operation: &str) -> Option<String> {
    let used = used?;
    Some(format!(
        "  machine CPU per {operation}: {:>6} µs (clients, server and database together; {:.0} % of all cores busy)",
        used.per_operation.as_micros(),
        used.busy_share * 100.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "cpu  100 0 50 1000 10 5 5 0 0 0\ncpu0 50 0 25 500 5 2 2 0 0 0\n";
    const AFTER: &str = "cpu  250 0 110 1100 10 10 5 0 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n";

    #[test]
    fn reads_the_aggregate_line_and_splits_busy_from_idle() {
        let times = CpuTimes::parse(BEFORE).unwrap();
        assert_eq!(times.busy_ticks, 160);
        assert_eq!(times.idle_ticks, 1010);
    }

    #[test]
    fn cpu_per_operation_counts_every_busy_tick() {
        let before = CpuTimes::parse(BEFORE).unwrap();
        let after = CpuTimes::parse(AFTER).unwrap();
        // 215 busy ticks (2.15 s of CPU) and 100 idle ticks, over 1,000 operations.
        let used = before.used_until(after, 1_000).unwrap();
        assert_eq!(used.per_operation, Duration::from_micros(2_150));
        assert!((used.busy_share - 215.0 / 315.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_is_claimed_without_operations_or_from_a_garbled_file() {
        let before = CpuTimes::parse(BEFORE).unwrap();
        assert_eq!(before.used_until(before, 0), None);
        assert_eq!(CpuTimes::parse("intr 1 2 3\n"), None);
        assert_eq!(CpuTimes::parse("cpu  1 x 3\n"), None);
        let after = CpuTimes::parse(AFTER).unwrap();
        assert_eq!(
            after.used_until(before, 10),
            None,
            "counters never run backwards"
        );
    }
}
