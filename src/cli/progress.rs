//! A progress line on standard error for long CLI operations (report
//! exports of a million lines): redrawn a few times a second on a
//! terminal, printed once at the end otherwise, so logs stay readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(200);

pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    drawn_at: Option<Instant>,
    terminal: bool,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: u64) -> Progress {
        Progress {
            label: label.into(),
            total,
            done: 0,
            drawn_at: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Records that `done` items are finished; redraws if it is time.
    pub fn set(&mut self, done: u64) {
        self.done = done;
        if !self.terminal || self.drawn_at.is_some_and(|at| at.elapsed() < REDRAW) {
            return;
        }
        self.draw("\r");
        self.drawn_at = Some(Instant::now());
    }

    fn draw(&self, prefix: &str) {
        let width = 30;
        let filled = (self.done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            "-".repeat(width as usize - filled)
        );
        let _ = write!(
            std::io::stderr(),
            "{prefix}{} [{bar}] {}/{}",
            self.label,
            self.done,
            self.total
        );
    }

    /// The final line.
    pub fn finish(self) {
        self.draw(if self.terminal { "\r" } else { "" });
        let _ = writeln!(std::io::stderr());
    }
}
