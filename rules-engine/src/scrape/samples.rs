//! What happens to scraped samples before they are stored, as Prometheus's
//! scrape loop does it: target labels attached (with `honor_labels`
//! conflict handling), `metric_relabel_configs`, then the label limits.

use crate::model::Labels;
use crate::scrape::config::ScrapeConfig;

use super::relabel;

/// Attaches the target's labels to a scraped sample's labels.
///
/// With `honor_labels` the scraped value wins and the target's label is
/// only added where missing. Without it the target's value wins and a
/// conflicting scraped label is kept as `exported_<name>` (more
/// `exported_` prefixes while that name is taken), so nothing is lost.
pub fn attach_target_labels(mut sample: Labels, target: &Labels, honor_labels: bool) -> Labels {
    if honor_labels {
        for l in target {
            if sample.get(&l.name).is_none() {
                sample.set(&l.name, &l.value);
            }
        }
        return sample;
    }
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for l in target {
        if let Some(existing) = sample.get(&l.name) {
            conflicts.push((l.name.clone(), existing.to_string()));
        }
        sample.set(&l.name, &l.value);
    }
    // Shorter names first, as Prometheus resolves them, so `exported_job`
    // from `job` is placed before a conflict on `exported_job` itself.
    conflicts.sort_by_key(|(name, _)| name.len());
    for (name, value) in conflicts {
        let mut new_name = name;
        loop {
            new_name = format!("exported_{new_name}");
            if sample.get(&new_name).is_none() {
                sample.set(&new_name, &value);
                break;
            }
        }
    }
    sample
}

/// A scrape-failing label limit violation, in Prometheus's words.
pub fn check_label_limits(labels: &Labels, cfg: &ScrapeConfig) -> Result<(), String> {
    let metric: String = labels
        .metric_name()
        .unwrap_or("")
        .chars()
        .take(50)
        .collect();
    if cfg.label_limit > 0 && labels.len() > cfg.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
            labels.len(),
            cfg.label_limit
        ));
    }
    for l in labels {
        if cfg.label_name_length_limit > 0 && l.name.len() > cfg.label_name_length_limit {
            let name: String = l.name.chars().take(50).collect();
            return Err(format!(
                "label_name_length_limit exceeded (metric: {metric}, label name: {name}, length: {}, limit: {})",
                l.name.len(),
                cfg.label_name_length_limit
            ));
        }
        if cfg.label_value_length_limit > 0 && l.value.len() > cfg.label_value_length_limit {
            let value: String = l.value.chars().take(50).collect();
            return Err(format!(
                "label_value_length_limit exceeded (metric: {metric}, label value: {value}, length: {}, limit: {})",
                l.value.len(),
                cfg.label_value_length_limit
            ));
        }
    }
    Ok(())
}

/// Target labels, metric relabeling and limits for one scraped sample:
/// `Ok(None)` when relabeling drops it, `Err` when it breaks a limit.
pub fn process_sample(
    scraped: Labels,
    target: &Labels,
    cfg: &ScrapeConfig,
) -> Result<Option<Labels>, String> {
    let labels = attach_target_labels(scraped, target, cfg.honor_labels);
    let Some(labels) = relabel::process(labels, &cfg.metric_relabel_configs) else {
        return Ok(None);
    };
    check_label_limits(&labels, cfg)?;
    Ok(Some(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn conflicts_are_exported_unless_honored() {
        let target = l(&[("job", "node"), ("instance", "h:1")]);
        let scraped = l(&[("__name__", "x"), ("job", "app"), ("exported_job", "old")]);
        let got = attach_target_labels(scraped.clone(), &target, false);
        assert_eq!(
            got,
            l(&[
                ("__name__", "x"),
                ("job", "node"),
                ("instance", "h:1"),
                ("exported_job", "old"),
                ("exported_exported_job", "app"),
            ])
        );
        let honored = attach_target_labels(scraped, &target, true);
        assert_eq!(honored.get("job"), Some("app"));
        assert_eq!(honored.get("instance"), Some("h:1"));
    }

    #[test]
    fn label_limits_fail_with_prometheus_wording() {
        let mut cfg = crate::scrape::config::ScrapeConfig::for_static_target(
            "j",
            "h:1",
            crate::model::units::PromDuration::from_secs(15),
        );
        cfg.label_limit = 2;
        let err =
            check_label_limits(&l(&[("__name__", "m"), ("a", "1"), ("b", "2")]), &cfg).unwrap_err();
        assert_eq!(
            err,
            "label_limit exceeded (metric: m, number of labels: 3, limit: 2)"
        );
        cfg.label_limit = 0;
        cfg.label_value_length_limit = 3;
        let err = check_label_limits(&l(&[("__name__", "m"), ("a", "long")]), &cfg).unwrap_err();
        assert!(
            err.starts_with("label_value_length_limit exceeded"),
            "{err}"
        );
    }
}
