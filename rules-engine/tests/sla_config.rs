//! The `sla:` section of vigil's configuration file: defaults from the
//! contract, and every problem reported at `file:line:column`.

use vigil::config::Config;

#[test]
fn an_sla_section_loads_with_the_contract_defaults() {
    let cfg = Config::parse(
        "sla:\n  services:\n    - name: app\n      up: min(up{job=\"app\"})\n",
        "vigil.yml",
    )
    .unwrap();
    let sla = cfg.sla.unwrap();
    assert_eq!(sla.services[0].objective.to_string(), "99.99");
    assert_eq!(sla.credits.tiers.len(), 3);
    assert!(
        Config::parse("global: {}\n", "vigil.yml")
            .unwrap()
            .sla
            .is_none()
    );
}

#[test]
fn sla_problems_are_located() {
    let text = "\
sla:
  services:
    - name: app
      up: up
      objective: 101
    - { name: db, up: 'sum(', objective: 99.9 }
  maintenance:
    one_off:
      - start: 2026-10-10T03:00:00Z
        end: 2026-10-10T01:00:00Z
        announced_at: 2026-10-01T00:00:00Z
";
    let err = Config::parse(text, "vigil.yml").unwrap_err().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with("vigil.yml:5:7: sla.services[0].objective: 101 is not a percentage"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("vigil.yml:6:19: sla.services[1].up: bad PromQL"),
        "{err}"
    );
    assert_eq!(
        lines[2],
        "vigil.yml:10:9: sla.maintenance.one_off[0].end: must be after start"
    );
}

#[test]
fn unknown_sla_keys_are_errors_with_a_position() {
    let err = Config::parse("sla:\n  services: []\n  time_zon: UTC\n", "vigil.yml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("vigil.yml:3:"), "{err}");
    assert!(err.contains("time_zon"), "{err}");
}
