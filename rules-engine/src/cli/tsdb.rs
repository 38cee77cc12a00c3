//! `vigil tsdb create-blocks-from openmetrics FILE [OUTPUT_DIR]`: promtool's
//! backfill, with its arguments, defaults (`data/`) and block listing.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::store::block::BlockMeta;
use crate::store::block::backfill::create_blocks_from_openmetrics;

#[derive(Args)]
pub struct TsdbArgs {
    #[command(subcommand)]
    pub command: TsdbCommand,
}

#[derive(Subcommand)]
pub enum TsdbCommand {
    /// Import samples from input and produce TSDB blocks.
    CreateBlocksFrom(CreateBlocksArgs),
}

#[derive(Args)]
pub struct CreateBlocksArgs {
    /// Print human readable values.
    #[arg(short = 'r', long = "human-readable", global = true)]
    pub human_readable: bool,
    /// Do not print created blocks.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Maximum duration created blocks may span. Anything less than 2h is
    /// ignored.
    #[arg(long = "max-block-duration", global = true, hide = true, value_parser = super::parse_duration)]
    pub max_block_duration: Option<crate::model::units::PromDuration>,
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Subcommand)]
pub enum Source {
    /// Import samples from OpenMetrics input and produce TSDB blocks.
    Openmetrics {
        /// OpenMetrics file to read samples from.
        input: PathBuf,
        /// Output directory for generated blocks.
        #[arg(default_value = "data/")]
        output: PathBuf,
    },
}

pub fn main(args: &TsdbArgs) -> anyhow::Result<()> {
    let TsdbCommand::CreateBlocksFrom(c) = &args.command;
    let Source::Openmetrics { input, output } = &c.source;
    let bytes = std::fs::read(input).with_context(|| format!("read {}", input.display()))?;
    let max = c.max_block_duration.map(|d| d.as_millis());
    let metas = create_blocks_from_openmetrics(&bytes, output, max).context("block creation")?;
    if !c.quiet {
        print!("{}", block_table(&metas, c.human_readable, output));
    }
    Ok(())
}

/// promtool's block listing: ULID, times, duration, counts, size.
fn block_table(metas: &[BlockMeta], human: bool, dir: &std::path::Path) -> String {
    let time = |t: i64| {
        if human {
            chrono::DateTime::from_timestamp(t.div_euclid(1000), 0).map_or(t.to_string(), |d| {
                d.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
            })
        } else {
            t.to_string()
        }
    };
    let mut rows = vec![
        [
            "BLOCK ULID",
            "MIN TIME",
            "MAX TIME",
            "DURATION",
            "NUM SAMPLES",
            "NUM CHUNKS",
            "NUM SERIES",
            "SIZE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in metas {
        let size = dir_size(&dir.join(m.ulid.to_string()));
        rows.push(vec![
            m.ulid.to_string(),
            time(m.min_time),
            time(m.max_time),
            go_duration_ms(m.max_time - m.min_time),
            m.stats.num_samples.to_string(),
            m.stats.num_chunks.to_string(),
            m.stats.num_series.to_string(),
            size.to_string(),
        ]);
    }
    // Go's tabwriter as promtool sets it up: min width 13, padding 2.
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(11)
                + 2
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Go's `time.Duration.String()` for whole milliseconds: `2h0m0s`,
/// `1m30.5s`, `250ms`.
fn go_duration_ms(ms: i64) -> String {
    if ms > 0 && ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let secs = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        format!("{}s", (rest as f64 / 1000.0))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration_ms(7_200_000), "2h0m0s");
        assert_eq!(go_duration_ms(5_999_001), "1h39m59.001s");
        assert_eq!(go_duration_ms(90_500), "1m30.5s");
        assert_eq!(go_duration_ms(1), "1ms");
        assert_eq!(go_duration_ms(0), "0s");
    }
}
