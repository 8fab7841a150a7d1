//! The results table: one row per measure, the target beside the figure and whether it is met.

use std::fmt::Write as _;

pub struct Row {
    what: String,
    figure: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Adds a row (`met`: `None` when the row has no target) and echoes it to stderr.
    pub fn row(
        &mut self,
        what: impl Into<String>,
        figure: impl Into<String>,
        target: &str,
        met: Option<bool>,
    ) {
        let row = Row {
            what: what.into(),
            figure: figure.into(),
            target: target.to_owned(),
            met,
        };
        eprintln!("  {} = {} ({})", row.what, row.figure, row.target);
        self.rows.push(row);
    }

    /// `(met, with a target)`.
    pub fn score(&self) -> (usize, usize) {
        let targeted = self.rows.iter().filter(|r| r.met.is_some()).count();
        let met = self.rows.iter().filter(|r| r.met == Some(true)).count();
        (met, targeted)
    }

    pub fn render(&self, intro: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{intro}\n");
        let _ = writeln!(
            out,
            "| Measure | Figure | Target | Met |\n|---|---|---|---|"
        );
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "met",
                Some(false) => "**not met**",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.what, r.figure, r.target, met
            );
        }
        let (met, targeted) = self.score();
        let _ = writeln!(out, "\n{met} of {targeted} targets met.");
        out
    }
}
