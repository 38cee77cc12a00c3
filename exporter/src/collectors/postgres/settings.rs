//! `pg_settings` rows as `pg_settings_*` gauges, by postgres_exporter's rules
//! so that existing dashboards keep working:
//!
//! - only `bool`, `integer` and `real` settings become gauges (strings and
//!   enums have no number); `bool` is 1 for `on`, else 0;
//! - a time unit (`ms`, `s`, `min`, `h`, `d`) gives the suffix `_seconds`
//!   and the value in seconds; a size unit (`B`, `kB`, `MB`, `GB`, `TB`,
//!   possibly with a block multiplier such as `8kB` or `16MB`) gives
//!   `_bytes` and the value in bytes (powers of 1024, as PostgreSQL counts);
//! - `-1`, PostgreSQL's "disabled/unlimited", is kept as `-1`, not scaled;
//! - the help text is the setting's `short_desc`, plus
//!   ` [Units converted to seconds.]` (or bytes) when converted;
//! - dots in custom settings' names (`auto_explain.log_min_duration`)
//!   become underscores, so the name is a valid metric name.
//!
//! Values are parsed as decimal even when PostgreSQL prints an octal mode
//! (`log_file_mode = 0600` gives 600), as postgres_exporter does.

use crate::metrics::Family;

/// The query whose rows [`setting_family`] maps.
///
/// `statement_timeout` is read as its `reset_val`: the scrape's transaction
/// sets it locally (see `begin` in `scrape.rs`), and the gauge must
/// show the server's value, as a fresh session sees it, not the exporter's.
pub(crate) const QUERY: &str = "SELECT name, \
     CASE WHEN name = 'statement_timeout' THEN reset_val ELSE setting END AS setting, \
     COALESCE(unit, '') AS unit, \
     COALESCE(short_desc, '') AS short_desc, vartype \
     FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real') ORDER BY name";

/// The columns of [`QUERY`], as [`SettingRow`] has them.
pub(crate) const COLUMNS: [&str; 5] = ["name", "setting", "unit", "short_desc", "vartype"];

/// One row of `pg_settings`, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    pub name: String,
    pub setting: String,
    pub unit: String,
    pub short_desc: String,
    pub vartype: String,
}

/// A setting that cannot become a gauge; the collector logs it and goes on
/// (one odd setting must not hide the others).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingError {
    #[error("setting {name}: value {value:?} is not a number")]
    NotANumber { name: String, value: String },
    #[error("setting {name}: unknown unit {unit:?}")]
    UnknownUnit { name: String, unit: String },
}

/// The base unit a setting's value is converted to, and its name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BaseUnit {
    Seconds,
    Bytes,
}

impl BaseUnit {
    fn word(self) -> &'static str {
        match self {
            BaseUnit::Seconds => "seconds",
            BaseUnit::Bytes => "bytes",
        }
    }
}

/// Maps a `pg_settings` row to its gauge; `Ok(None)` for settings that are
/// not numbers (`string`, `enum`).
pub fn setting_family(row: &SettingRow) -> Result<Option<Family>, SettingError> {
    let base_name = format!("pg_settings_{}", row.name.replace('.', "_"));
    let value = match row.vartype.as_str() {
        "bool" => {
            let on = row.setting == "on";
            return Ok(Some(
                Family::gauge(base_name, row.short_desc.clone()).single(f64::from(u8::from(on))),
            ));
        }
        "integer" | "real" => {
            row.setting
                .trim()
                .parse::<f64>()
                .map_err(|_| SettingError::NotANumber {
                    name: row.name.clone(),
                    value: row.setting.clone(),
                })?
        }
        _ => return Ok(None),
    };
    if row.unit.is_empty() {
        return Ok(Some(
            Family::gauge(base_name, row.short_desc.clone()).single(value),
        ));
    }
    let (base, factor) = unit_factor(&row.unit).ok_or_else(|| SettingError::UnknownUnit {
        name: row.name.clone(),
        unit: row.unit.clone(),
    })?;
    // -1 means "disabled" or "no limit" for most sized and timed settings;
    // scaling it would turn a flag into a meaningless size.
    let value = if value == -1.0 { value } else { value * factor };
    let help = format!("{} [Units converted to {}.]", row.short_desc, base.word());
    Ok(Some(
        Family::gauge(format!("{base_name}_{}", base.word()), help).single(value),
    ))
}

/// The base unit and multiplier of a `pg_settings.unit`: `ms` is 1/1000 of a
/// second, `8kB` is 8 × 1024 bytes.
fn unit_factor(unit: &str) -> Option<(BaseUnit, f64)> {
    let time = match unit {
        "us" => Some(1e-6),
        "ms" => Some(1e-3),
        "s" => Some(1.0),
        "min" => Some(60.0),
        "h" => Some(3600.0),
        "d" => Some(86400.0),
        _ => None,
    };
    if let Some(factor) = time {
        return Some((BaseUnit::Seconds, factor));
    }
    // Sizes: an optional block count, then B, kB, MB, GB or TB.
    let split = unit
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unit.len());
    let (count, suffix) = unit.split_at(split);
    let count: f64 = if count.is_empty() {
        1.0
    } else {
        count.parse().ok()?
    };
    let power = match suffix {
        "B" => 0,
        "kB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return None,
    };
    Some((BaseUnit::Bytes, count * 2f64.powi(power)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricType;

    fn row(name: &str, setting: &str, unit: &str, vartype: &str) -> SettingRow {
        SettingRow {
            name: name.into(),
            setting: setting.into(),
            unit: unit.into(),
            short_desc: format!("About {name}."),
            vartype: vartype.into(),
        }
    }

    fn map(name: &str, setting: &str, unit: &str, vartype: &str) -> (String, f64, String) {
        let fam = setting_family(&row(name, setting, unit, vartype))
            .unwrap()
            .expect("a gauge");
        assert_eq!(fam.kind, MetricType::Gauge);
        assert_eq!(fam.samples.len(), 1);
        assert!(fam.samples[0].labels.is_empty());
        (
            fam.name.into_owned(),
            fam.samples[0].value,
            fam.help.into_owned(),
        )
    }

    /// Values from the captured postgres_exporter scrape of PostgreSQL 15
    /// (`anchors/scrapes/postgres_exporter.prom`) and the `pg_settings` rows
    /// they came from.
    #[test]
    fn matches_postgres_exporter_on_captured_values() {
        let cases = [
            (
                "shared_buffers",
                "16384",
                "8kB",
                "integer",
                "pg_settings_shared_buffers_bytes",
                134217728.0,
            ),
            (
                "wal_segment_size",
                "16777216",
                "B",
                "integer",
                "pg_settings_wal_segment_size_bytes",
                16777216.0,
            ),
            (
                "work_mem",
                "4096",
                "kB",
                "integer",
                "pg_settings_work_mem_bytes",
                4194304.0,
            ),
            (
                "wal_buffers",
                "512",
                "8kB",
                "integer",
                "pg_settings_wal_buffers_bytes",
                4194304.0,
            ),
            (
                "max_stack_depth",
                "2048",
                "kB",
                "integer",
                "pg_settings_max_stack_depth_bytes",
                2097152.0,
            ),
            (
                "checkpoint_timeout",
                "300",
                "s",
                "integer",
                "pg_settings_checkpoint_timeout_seconds",
                300.0,
            ),
            (
                "bgwriter_delay",
                "200",
                "ms",
                "integer",
                "pg_settings_bgwriter_delay_seconds",
                0.2,
            ),
            (
                "autovacuum_vacuum_cost_delay",
                "2",
                "ms",
                "real",
                "pg_settings_autovacuum_vacuum_cost_delay_seconds",
                0.002,
            ),
            (
                "log_autovacuum_min_duration",
                "600000",
                "ms",
                "integer",
                "pg_settings_log_autovacuum_min_duration_seconds",
                600.0,
            ),
            (
                "log_rotation_age",
                "1440",
                "min",
                "integer",
                "pg_settings_log_rotation_age_seconds",
                86400.0,
            ),
            (
                "log_min_duration_statement",
                "-1",
                "ms",
                "integer",
                "pg_settings_log_min_duration_statement_seconds",
                -1.0,
            ),
            (
                "temp_file_limit",
                "-1",
                "kB",
                "integer",
                "pg_settings_temp_file_limit_bytes",
                -1.0,
            ),
            (
                "log_file_mode",
                "0600",
                "",
                "integer",
                "pg_settings_log_file_mode",
                600.0,
            ),
            (
                "random_page_cost",
                "4",
                "",
                "real",
                "pg_settings_random_page_cost",
                4.0,
            ),
            (
                "max_connections",
                "100",
                "",
                "integer",
                "pg_settings_max_connections",
                100.0,
            ),
            (
                "min_wal_size",
                "80",
                "MB",
                "integer",
                "pg_settings_min_wal_size_bytes",
                83886080.0,
            ),
        ];
        for (name, setting, unit, vartype, want_name, want_value) in cases {
            let (got_name, got_value, _) = map(name, setting, unit, vartype);
            assert_eq!(got_name, want_name, "{name}");
            assert!(
                (got_value - want_value).abs() < 1e-9,
                "{name}: {got_value} != {want_value}"
            );
        }
    }

    #[test]
    fn bools_are_one_for_on_only() {
        assert_eq!(map("fsync", "on", "", "bool").1, 1.0);
        assert_eq!(map("fsync", "off", "", "bool").1, 0.0);
        assert_eq!(map("fsync", "on", "", "bool").0, "pg_settings_fsync");
    }

    #[test]
    fn help_says_which_unit_the_value_was_converted_to() {
        let (_, _, help) = map("work_mem", "4096", "kB", "integer");
        assert_eq!(help, "About work_mem. [Units converted to bytes.]");
        let (_, _, help) = map("max_connections", "100", "", "integer");
        assert_eq!(help, "About max_connections.");
    }

    #[test]
    fn block_multiplied_and_large_size_units() {
        assert_eq!(
            unit_factor("16MB"),
            Some((BaseUnit::Bytes, 16.0 * 1048576.0))
        );
        assert_eq!(unit_factor("32kB"), Some((BaseUnit::Bytes, 32768.0)));
        assert_eq!(unit_factor("TB"), Some((BaseUnit::Bytes, 1099511627776.0)));
        assert_eq!(unit_factor("d"), Some((BaseUnit::Seconds, 86400.0)));
        assert_eq!(unit_factor("parsecs"), None);
        assert_eq!(unit_factor("8XB"), None);
    }

    #[test]
    fn strings_and_enums_are_not_gauges() {
        assert_eq!(
            setting_family(&row("datestyle", "ISO, MDY", "", "string")),
            Ok(None)
        );
        assert_eq!(
            setting_family(&row("wal_level", "replica", "", "enum")),
            Ok(None)
        );
    }

    #[test]
    fn custom_settings_get_valid_names() {
        let (name, _, _) = map("auto_explain.log_min_duration", "-1", "ms", "integer");
        assert_eq!(name, "pg_settings_auto_explain_log_min_duration_seconds");
    }

    #[test]
    fn bad_values_and_units_are_errors_naming_the_setting() {
        let err = setting_family(&row("x", "lots", "", "integer")).unwrap_err();
        assert!(err.to_string().contains("x"));
        let err = setting_family(&row("y", "1", "furlongs", "integer")).unwrap_err();
        assert_eq!(
            err,
            SettingError::UnknownUnit {
                name: "y".into(),
                unit: "furlongs".into()
            }
        );
    }
}
